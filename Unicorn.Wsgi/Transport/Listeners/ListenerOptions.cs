namespace Unicorn.Wsgi.Transport.Listeners;

/// <summary>How the master binds: Gunicorn's <c>backlog</c>, <c>reuse_port</c>, <c>umask</c> (unix socket
/// mode), <c>user</c>/<c>group</c> (unix socket owner) and its bind retry (5 tries, 1 s apart).</summary>
public sealed record ListenerOptions
{
    public int Backlog { get; init; } = 2048;

    public bool ReusePort { get; init; }

    public int Umask { get; init; }

    public uint? Uid { get; init; }

    public uint? Gid { get; init; }

    public bool IsSsl { get; init; }

    public int BindAttempts { get; init; } = 5;

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>A listener could not be created; the message is the one line the user sees.</summary>
public sealed class ListenerException(string message) : Exception(message);
