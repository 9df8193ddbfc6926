using Unicorn.Wsgi.Connections;

namespace Unicorn.Wsgi.Workers;

/// <summary>The HTTP/1.x protocol handler: one <see cref="HttpConnection"/> per connection, for the worker's app host.</summary>
internal sealed class Http1ConnectionHandler(WorkerContext worker) : IConnectionHandler
{
    /// <summary>The ALPN name TLS offers for it.</summary>
    public const string ApplicationProtocol = "http/1.1";

    public Task RunAsync(ConnectionContext connection) => new HttpConnection(connection, worker).RunAsync();
}
