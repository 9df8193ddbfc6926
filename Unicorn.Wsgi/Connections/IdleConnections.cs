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
