using System.Collections.Concurrent;

namespace Unicorn.Wsgi.Connections;

/// <summary>
/// The connections of a worker that are waiting for a request. When every connection slot is taken,
/// the one idle longest is closed to let a new client in: idle keep-alive connections (or clients that
/// connect and send nothing) cannot lock others out, as nginx sheds them. Only a connection idle for
/// <see cref="MinimumIdleMs"/> is shed: one accepted a moment ago is not idle but arriving (its request
/// follows the handshake on the wire, as behind nginx), and closing it would leave a client that did nothing
/// wrong without an answer. While none qualifies, new clients wait in the listen queue, as with Gunicorn.
/// </summary>
internal sealed class IdleConnections
{
    /// <summary>How long a connection must have waited for a request before it may be shed.</summary>
    public const int MinimumIdleMs = 250;

    private readonly ConcurrentDictionary<ConnectionContext, long> _idleSince = new();

    public int Count => _idleSince.Count;

    public void Enter(ConnectionContext connection) => _idleSince[connection] = Environment.TickCount64;

    public void Leave(ConnectionContext connection) => _idleSince.TryRemove(connection, out _);

    /// <summary>Closes the connection idle longest; false when none has been idle long enough.</summary>
    public bool EvictOldest()
    {
        while (true)
        {
            ConnectionContext? oldest = null;
            var since = Environment.TickCount64 - MinimumIdleMs + 1;
            foreach (var (connection, t) in _idleSince)
            {
                if (t < since && !HasBytesWaiting(connection))
                {
                    (oldest, since) = (connection, t);
                }
            }

            if (oldest is null)
            {
                return false;
            }

            if (_idleSince.TryRemove(oldest, out _))
            {
                oldest.Evict();
                return true;
            }
        }
    }

    /// <summary>
    /// Once <paramref name="stop"/> fires and <paramref name="grace"/> has passed, closes every connection still waiting
    /// for a request, and goes on doing so every <see cref="MinimumIdleMs"/> until disposed. A client that connected and
    /// never sent a request (a browser's preconnect, a load balancer's spare connection) would otherwise hold a graceful
    /// stop for its whole <c>timeout</c>, past <c>graceful_timeout</c> into the master's SIGKILL; the grace lets a
    /// request sent as the stop begins still be answered.
    /// </summary>
    public IDisposable CloseAfterStop(CancellationToken stop, TimeSpan grace) => new StopSweep(this, stop, grace);

    private void EvictAll()
    {
        var since = Environment.TickCount64 - MinimumIdleMs + 1;
        foreach (var (connection, t) in _idleSince)
        {
            if (t < since && !HasBytesWaiting(connection) && _idleSince.TryRemove(connection, out _))
            {
                connection.Evict();
            }
        }
    }

    private sealed class StopSweep : IDisposable
    {
        private readonly IdleConnections _idle;
        private readonly TimeSpan _grace;
        private readonly CancellationTokenRegistration _stopped;
        private readonly Lock _gate = new();
        private Timer? _timer;
        private bool _disposed;

        public StopSweep(IdleConnections idle, CancellationToken stop, TimeSpan grace)
        {
            (_idle, _grace) = (idle, grace);
            _stopped = stop.UnsafeRegister(static s => ((StopSweep)s!).Start(), this);
        }

        private void Start()
        {
            lock (_gate)
            {
                if (!_disposed)
                {
                    _timer = new Timer(static s => ((IdleConnections)s!).EvictAll(), _idle, _grace, TimeSpan.FromMilliseconds(MinimumIdleMs));
                }
            }
        }

        public void Dispose()
        {
            _stopped.Dispose();
            lock (_gate)
            {
                _disposed = true;
                _timer?.Dispose();
            }
        }
    }

    // A connection whose request is already in the kernel's buffer is not idle, only not yet read: when a burst
    // of clients arrives, evicting it would close a client that did nothing wrong (seen with 1,000 at once).
    private static bool HasBytesWaiting(ConnectionContext connection)
    {
        try
        {
            return connection.Socket is { } socket && socket.Available > 0;
        }
        catch (Exception e) when (e is ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
