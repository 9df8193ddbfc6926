using System.Net.Sockets;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// accept(2) failing, or about to, because the process or the system has run out of something (descriptors:
/// EMFILE/ENFILE; kernel memory: ENOBUFS/ENOMEM). The listener stays readable, so retrying at once would spin a CPU
/// until a connection closes: the accept loops wait <see cref="Backoff"/> instead, and the shortage is logged once,
/// not once per retry. (Gunicorn's workers exit on it and the master starts another.)
/// <para>
/// The .NET runtime needs descriptors of its own now and then (a thread it starts, an assembly it loads, /proc it
/// reads), and a thread it cannot start is an OutOfMemoryException that aborts the worker. So connections never
/// take the last <see cref="Headroom"/> descriptors: the kernel gives out the lowest free number, so an accepted
/// one numbered that close to the limit means the table is nearly full, and accepting pauses there (the connection
/// is still served) until a probe gets a lower number again, that is until connections have closed.
/// </para>
/// </summary>
internal sealed class AcceptShortage(IErrorLog log, Func<int> openConnections)
{
    /// <summary>How long an accept loop waits after a shortage before it tries again.</summary>
    public static readonly TimeSpan Backoff = TimeSpan.FromMilliseconds(100);

    /// <summary>Descriptors left to the runtime: enough for a few threads to start and files to open at once.</summary>
    public const int Headroom = 16;

    // Descriptor numbers from here up are the headroom. The limit is read once: .NET raised the soft limit to the
    // hard one as it started, and an unprivileged process cannot raise it further. A limit so low that the worker
    // already reaches into the headroom keeps none (else it could never accept again): only accept(2)'s errors count.
    // Set again when the runtime's own descriptors take the headroom later (HasHeadroom).
    private long _headroomFrom = HeadroomFrom();
    private int _short;

    public static bool Is(SocketError error) =>
        error is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable;

    /// <summary>accept(2) failed for want of descriptors or memory: logs the first failure of a shortage, as one line.</summary>
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

    /// <summary>
    /// A connection was accepted. True when accepting may go on (a shortage, if any, is over); false when it took
    /// a descriptor of the headroom: the shortage is reported, and the loop backs off until <see cref="HasHeadroom"/>.
    /// </summary>
    public bool Accepted(Socket client)
    {
        if (client.SafeHandle.DangerousGetHandle() >= Volatile.Read(ref _headroomFrom))
        {
            Report(SocketError.TooManyOpenSockets);
            return false;
        }

        if (Volatile.Read(ref _short) != 0 && Interlocked.Exchange(ref _short, 0) != 0)
        {
            log.Info("Accepting connections again");
        }

        return true;
    }

    /// <summary>
    /// After a <see cref="Backoff"/>: whether the lowest free descriptor is below the headroom again. With no
    /// connection open, none can close to bring it back: descriptors the runtime opened after the headroom was set
    /// fill it, and a worker waiting for it would never accept again. The headroom is then set again by the rule it
    /// was first set with, which keeps none for a worker already reaching into it.
    /// </summary>
    public bool HasHeadroom()
    {
        if (LowestFree() is var free && free >= 0 && free < Volatile.Read(ref _headroomFrom))
        {
            return true;
        }

        if (openConnections() > 0)
        {
            return false;
        }

        Volatile.Write(ref _headroomFrom, HeadroomFrom());
        return true;
    }

    private static long HeadroomFrom()
    {
        var limit = Libc.getrlimit(Libc.RLIMIT_NOFILE, out var rlimit) == 0 && rlimit.Cur < int.MaxValue ? (long)rlimit.Cur : int.MaxValue;
        return LowestFree() is var free && free >= 0 && free < limit - Headroom ? limit - Headroom : limit;
    }

    /// <summary>The number the next descriptor would get (the kernel gives the lowest free one), or -1 if none is left.</summary>
    private static int LowestFree()
    {
        var probe = Libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (probe >= 0)
        {
            _ = Libc.close(probe);
        }

        return probe;
    }
}
