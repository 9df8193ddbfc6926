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
        // The bridge has its own copy of a body by now; what follows it is the upgraded protocol's.
        ReturnBody();
        return _connection.TakeTransportForTls();
    }
}
