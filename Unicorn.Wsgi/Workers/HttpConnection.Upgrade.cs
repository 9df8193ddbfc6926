using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Connections;

namespace Unicorn.Wsgi.Workers;

// The hand-over point for a websocket upgrade: the host takes the stream, and the connection ends with its task.
internal sealed partial class HttpConnection : IConnectionUpgrade
{
    private bool _upgraded;

    CancellationToken IConnectionUpgrade.Stopping => _worker.Stopping;

    Stream IConnectionUpgrade.TakeStream()
    {
        _upgraded = true;
        // The bridge has its own copy of a body by now; what follows it is the upgraded protocol's.
        ReturnBody();
        var stream = _connection.TakeTransportForTls();
        // The transport does not own the socket, so disposing it would leave a pending read waiting and the TCP
        // connection open. .NET's WebSocket disposes its stream when it aborts (a ws_ping_timeout that expired): the
        // socket is shut down then, so the app's receive() ends with 1006 and the client sees the connection close.
        return _connection.Socket is { } socket ? new PrefixedStream([], stream, () => Shutdown(socket)) : stream;
    }

    private static void Shutdown(System.Net.Sockets.Socket socket)
    {
        try
        {
            socket.Shutdown(System.Net.Sockets.SocketShutdown.Both);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // Already reset or closed.
        }
    }
}
