namespace Unicorn.Wsgi.Arbiter;

/// <summary>Leaves the master loop: graceful or fast stop, with an optional halt reason and status.</summary>
internal sealed class StopMasterException(bool graceful, string? reason = null, int exitCode = 0) : Exception(reason ?? "stop")
{
    public bool Graceful { get; } = graceful;

    public string? Reason { get; } = reason;

    public int ExitCode { get; } = exitCode;
}
