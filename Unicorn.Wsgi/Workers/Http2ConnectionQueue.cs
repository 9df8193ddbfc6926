using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// Kestrel's transport, as Unicorn feeds it: Kestrel "binds" here and "accepts" the connections the HTTP/2
/// handler hands over once Unicorn has accepted them and run their stages. No socket is bound.
/// </summary>
internal sealed class Http2ConnectionQueue : IConnectionListenerFactory, IConnectionListener
{
    private readonly Channel<Http2TransportConnection> _pending =
        Channel.CreateUnbounded<Http2TransportConnection>(new UnboundedChannelOptions { SingleReader = true });

    public EndPoint EndPoint { get; private set; } = new IPEndPoint(IPAddress.Loopback, 0);

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        EndPoint = endpoint;
        return new(this);
    }

    /// <summary>False once Kestrel has stopped: the caller closes the connection itself.</summary>
    public bool TryEnqueue(Http2TransportConnection connection) => _pending.Writer.TryWrite(connection);

    public async ValueTask<Microsoft.AspNetCore.Connections.ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _pending.Reader.ReadAsync(cancellationToken);
        }
        catch (Exception e) when (e is ChannelClosedException or OperationCanceledException)
        {
            return null;
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _pending.Writer.TryComplete();
        return default;
    }

    public ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        return default;
    }
}
