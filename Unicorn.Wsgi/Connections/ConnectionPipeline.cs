using System.Net;
using System.Net.Sockets;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Http;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Transport.Tls;

namespace Unicorn.Wsgi.Connections;

/// <summary>
/// What happens to an accepted connection, in order (Kestrel's connection middleware is the model): PROXY
/// header (when <c>proxy_protocol</c> is on), TLS handshake (when configured), then the protocol handler
/// <see cref="ProtocolHandlers"/> selects. Stages that are off cost nothing: a plain connection goes straight
/// to its handler, on the thread that accepted it, so the first head is still parsed where its bytes arrive.
/// One per worker.
/// </summary>
internal sealed class ConnectionPipeline
{
    private readonly HttpParserOptions _options;
    private readonly ProxyProtocolStage? _proxy;
    private readonly TlsStage? _tls;
    private readonly ProtocolHandlers _protocols;
    private readonly IErrorLog _log;

    public ConnectionPipeline(HttpParserOptions options, TimeSpan readTimeout, TlsServer? tls, ProtocolHandlers protocols, IErrorLog log)
    {
        _options = options;
        _protocols = protocols;
        _log = log;
        _proxy = options.ProxyProtocol == ProxyProtocolMode.Off
            ? null
            : new ProxyProtocolStage(new ProxyHeaderParser(options.ProxyProtocol, options.ProxyAllowIps), readTimeout);
        _tls = tls is null ? null : new TlsStage(tls, protocols.ApplicationProtocols, readTimeout, log);
    }

    /// <summary>The worker's connections waiting for a request, for eviction when every slot is taken.</summary>
    public IdleConnections Idle { get; } = new();

    /// <summary>Runs one accepted connection to its end; <paramref name="stopNow"/> closes it at once.</summary>
    public async Task RunAsync(Socket client, ListenerInfo listener, CancellationToken stopNow)
    {
        var remote = client.RemoteEndPoint as IPEndPoint;
        // The stream does not own the socket: a NetworkStream that does calls shutdown(2) before close(2),
        // a syscall per connection that close(2) makes redundant (it sends the same FIN).
        var connection = new ConnectionContext(new NetworkStream(client, ownsSocket: false), listener, remote, _options.ForwardedAllowIps.Contains(remote?.Address), Idle, client);
        try
        {
            using var abort = stopNow.Register(static s => ((Socket)s!).Dispose(), client);
            if (_proxy is not null && !await _proxy.RunAsync(connection))
            {
                return;
            }

            if (_tls is not null && !await _tls.RunAsync(connection, stopNow))
            {
                return;
            }

            await _protocols.Select(connection).RunAsync(connection);
        }
        catch (BadHttpRequestException e)
        {
            // A bad PROXY header: Gunicorn answers it like a bad request (400, or 403 for a peer not allowed).
            await RejectAsync(connection, e);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or a timeout fired: nothing to answer.
        }
        catch (OutOfMemoryException e)
        {
            // A buffer that could not grow under worker_heap_limit (a TLS or HTTP/2 connection's): one line, as the
            // HTTP/1 handler logs it, never a .NET stack trace.
            _log.Error($"Error handling request from {connection.RemoteText}: {e.GetType().Name}: {e.Message}");
        }
        catch (Exception e)
        {
            _log.Error($"Error handling request from {connection.RemoteText}: {e}");
        }
        finally
        {
            await connection.DisposeAsync();
        }
    }

    private async Task RejectAsync(ConnectionContext connection, BadHttpRequestException e)
    {
        if (e.IsEndOfInput)
        {
            return;
        }

        _log.Warning(InvalidRequestLine(connection, e));
        try
        {
            await connection.Transport.WriteAsync(e.BuildResponse());
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Gunicorn's warning for a rejected request, naming the socket's peer.</summary>
    internal static string InvalidRequestLine(ConnectionContext connection, BadHttpRequestException e) =>
        $"Invalid request from ip={connection.RemoteText}: {e.Message}";
}
