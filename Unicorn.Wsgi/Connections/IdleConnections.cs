using System.Collections.Concurrent;

namespace Unicorn.Wsgi.Connections;

/// <summary>
/// The connections of a worker that are waiting for a request. When every connection slot is taken,
/// the one idle longest is closed to let a new client in: idle keep-alive connections (or clients that
/// connect and send nothing) cannot lock others out, as nginx sheds them.
/// </summary>
internal sealed class IdleConnections
{
    private readonly ConcurrentDictionary<ConnectionContext, long> _idleSince = new();

    public int Count => _idleSince.Count;

    public void Enter(ConnectionContext connection) => _idleSince[connection] = Environment.TickCount64;

    public void Leave(ConnectionContext connection) => _idleSince.TryRemove(connection, out _);

    /// <summary>Closes the connection idle longest; false when none is idle.</summary>
    public bool EvictOldest()
    {
        while (true)
        {
            ConnectionContext? oldest = null;
            var since = long.MaxValue;
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
