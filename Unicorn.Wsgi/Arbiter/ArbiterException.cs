namespace Unicorn.Wsgi.Arbiter;

/// <summary>The master cannot start; the message is the one line the user sees.</summary>
public sealed class ArbiterException(string message) : Exception(message);

/// <summary>The app could not be imported (--preload in the master, or in a worker: exit status 4).</summary>
public sealed class AppLoadException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Leaves the master loop: graceful or fast stop, with an optional halt reason and status.</summary>
internal sealed class StopMasterException(bool graceful, string? reason = null, int exitCode = 0) : Exception(reason ?? "stop")
{
    public bool Graceful { get; } = graceful;

    public string? Reason { get; } = reason;

    public int ExitCode { get; } = exitCode;
}
