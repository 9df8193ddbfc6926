using Unicorn.Wsgi.Connections;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// The uwsgi protocol handler (<c>protocol = uwsgi</c>): one <see cref="UwsgiConnection"/> per connection, for
/// the worker's app host, whatever the worker class.
/// </summary>
internal sealed class UwsgiConnectionHandler(WorkerContext worker) : IConnectionHandler
{
    public Task RunAsync(ConnectionContext connection) => new UwsgiConnection(connection, worker).RunAsync();
}
