using System.Net.Sockets;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Transport;
using Unicorn.Wsgi.Transport.Tls;

namespace Unicorn.Wsgi.Connections;

/// <summary>
/// The pipeline's TLS stage when <c>certfile</c>/<c>keyfile</c> are set: the handshake runs here, on async I/O
/// and bounded by <c>timeout</c>, so a slow or silent TLS client holds no Python thread; ALPN offers the
/// protocols that have handlers.
/// </summary>
internal sealed class TlsStage
{
    private readonly TlsServer _tls;
    private readonly TimeSpan _timeout;
    private readonly IErrorLog _log;

    public TlsStage(TlsServer tls, IReadOnlyList<string> applicationProtocols, TimeSpan timeout, IErrorLog log)
    {
        _tls = tls;
        _timeout = timeout;
        _log = log;
        _tls.OfferApplicationProtocols(applicationProtocols);
    }

    /// <summary>False: the handshake failed or timed out; the connection is closed, as Gunicorn drops it.</summary>
    public async ValueTask<bool> RunAsync(ConnectionContext connection, CancellationToken stopping)
    {
        if (!await WaitForClientHelloAsync(connection, stopping))
        {
            return false;
        }

        // As Gunicorn's workers: a refused handshake is a bad request, logged as one with OpenSSL's reason
        // (client certificates and cipher lists are otherwise impossible to debug); a client gone is debug only.
        var tls = await _tls.AuthenticateAsync(
            connection.TakeTransportForTls(), _timeout, stopping,
            why => _log.Warning($"Invalid request from ip={connection.RemoteText}: {why}"));
        if (tls is null)
        {
            _log.Debug("Error processing SSL request.");
            return false;
        }

        connection.UseTls(tls.Stream, tls.Environ, tls.ApplicationProtocol);
        // An app thread writes a response through SslStream's blocking Write: bounded as a plain socket's send is
        // (asynchronous writes, HTTP/2's and the ASGI host's, are bounded by their callers).
        if (connection.Socket is { } socket)
        {
            socket.SendTimeout = (int)SocketSend.StalledClientTimeout.TotalMilliseconds;
        }

        return true;
    }

    /// <summary>
    /// Until the client's first byte arrives the connection is idle, as a plain one waiting for its first request
    /// is: the worker may close it for its slot when every slot is taken, so clients that connect to a TLS port
    /// and send nothing cannot lock others out for <c>timeout</c>. From that byte on the handshake runs under
    /// <c>timeout</c>, as a request head does. A ClientHello already waiting (the usual case) costs no wait.
    /// False: evicted or timed out.
    /// </summary>
    private async ValueTask<bool> WaitForClientHelloAsync(ConnectionContext connection, CancellationToken stopping)
    {
        // After a PROXY header the stage's pipe may hold the ClientHello already: that connection is not silent.
        if (connection.Socket is not { } socket || connection.HasBufferedInput)
        {
            return true;
        }

        // A zero-byte receive completes when bytes (or the end of stream) arrive, without taking any.
        var wait = socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
        if (wait.IsCompletedSuccessfully)
        {
            _ = wait.Result; // consumed, so the socket reuses its receive state for the handshake's reads
            return true;
        }

        connection.MarkIdle(true);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stopping, connection.Evicted);
        cts.CancelAfter(_timeout);
        // The connection is closed either way when the wait ends early, so the socket's close ends it.
        using var abort = cts.Token.Register(static s => ((Socket)s!).Dispose(), socket);
        try
        {
            await wait;
            return !cts.IsCancellationRequested;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            return false;
        }
        finally
        {
            connection.MarkIdle(false);
        }
    }
}
