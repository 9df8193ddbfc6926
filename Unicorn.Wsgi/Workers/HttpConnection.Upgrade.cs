using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Workers;

// The hand-over point for a websocket upgrade: the host takes the stream, and the connection ends with its task.
internal sealed partial class HttpConnection : IConnectionUpgrade
{
    private bool _upgraded;

    CancellationToken IConnectionUpgrade.Stopping => _worker.Stopping;

    Stream IConnectionUpgrade.TakeStream()
    {
        _upgraded = true;
        return _connection.TakeTransportForTls();
    }
}
