using System.Net.Sockets;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// accept(2) failing because the process or the system has run out of something (descriptors: EMFILE/ENFILE;
/// kernel memory: ENOBUFS/ENOMEM). The listener stays readable, so retrying at once would spin a CPU until a
/// connection closes: the accept loops wait <see cref="Backoff"/> instead, and the error is logged once per
/// shortage, not once per retry. (Gunicorn's workers exit on it and the master starts another.)
/// </summary>
internal sealed class AcceptShortage(IErrorLog log)
{
    /// <summary>How long an accept loop waits after a shortage before it tries again.</summary>
    public static readonly TimeSpan Backoff = TimeSpan.FromMilliseconds(100);

    private int _short;

    public static bool Is(SocketError error) =>
        error is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable;

    /// <summary>Logs the first failure of a shortage, as one line.</summary>
    public void Report(SocketError error)
    {
        if (Interlocked.Exchange(ref _short, 1) == 0)
        {
            // .NET reports EMFILE and ENFILE alike (TooManyOpenSockets), and its message names only ENFILE.
            var what = error == SocketError.TooManyOpenSockets
                ? "too many open files (the process's limit, ulimit -n, or the system's)"
                : "no buffer space or memory left";
            log.Error($"Error accepting a connection: {what}; retrying every {Backoff.TotalMilliseconds:0} ms");
        }
    }

    /// <summary>A connection was accepted: the shortage, if any, is over.</summary>
    public void Accepted()
    {
        if (Volatile.Read(ref _short) != 0 && Interlocked.Exchange(ref _short, 0) != 0)
        {
            log.Info("Accepting connections again");
        }
    }
}
