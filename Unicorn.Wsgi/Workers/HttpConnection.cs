using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Http;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// The HTTP/1 connection state machine, the one place it lives: reads request heads off the GIL, answers
/// 100-continue, reads or streams bodies, hands each request to a Python thread, and loops for keep-alive
/// and pipelining until the connection closes (lingering when a body was left unread). It starts once the
/// connection pipeline (Connections/) has read any PROXY header and done any TLS handshake; HTTP rules live
/// in Http/; the app is reached only through <see cref="Hosts.IAppHost"/>.
/// </summary>
internal sealed partial class HttpConnection
{
    private static readonly byte[] Continue100 = ResponseHeadWriter.ContinueResponse.ToArray();

    private readonly ConnectionContext _connection;
    private readonly Stream _stream;
    private readonly PipeReader _reader;
    private readonly WorkerContext _worker;
    private readonly Http1RequestParser _parser;
    private readonly RequestHead _head;
    private bool _firstRequest = true;
    private bool _bodyLeftUnread;

    public HttpConnection(ConnectionContext connection, WorkerContext worker)
    {
        _connection = connection;
        _stream = connection.Transport;
        _reader = connection.Input;
        _worker = worker;
        (_parser, _head) = worker.Parsers.Rent();
        // Whose X-Forwarded-* headers count was decided once for the connection (a unix peer is trusted).
        _parser.StartConnection(connection.ForwardedTrusted);
    }

    private string RemoteText => _connection.RemoteText;

    /// <summary>Serves requests until the connection is done; the pipeline then closes it.</summary>
    public async Task RunAsync()
    {
        try
        {
            // A graceful stop does not cut a connection short: one accepted before it gets its first request
            // served, and an idle keep-alive connection keeps its keep-alive time, so a request its client
            // sends as the stop begins is answered (with Connection: close) rather than reset. Gunicorn's
            // gthread worker does the same.
            while (true)
            {
                if (!await ReadHeadAsync())
                {
                    return;
                }

                // h2c by Upgrade, for a peer trusted with forwarded headers: the connection becomes HTTP/2.
                if (_worker.Http2Upgrade is { } h2c && _connection.ForwardedTrusted && Http2CleartextUpgrade.IsRequested(_head))
                {
                    await h2c.RunAsync(_connection, _head);
                    return;
                }

                if (!await ServeRequestAsync())
                {
                    return;
                }

                _firstRequest = false;
            }
        }
        catch (BadHttpRequestException e)
        {
            await RejectAsync(e);
        }
        catch (RequestBodyTimeoutException)
        {
            // As Gunicorn, nothing is answered: the connection is closed. One line, never a stack trace.
            _worker.Log.Info(RequestBodyTimeoutException.LogLine(RemoteText));
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or a timeout fired: nothing to answer.
        }
        catch (Exception e)
        {
            _worker.Log.Error($"Error handling request from {RemoteText}: {e}");
        }
        finally
        {
            if (_bodyLeftUnread && _connection.Socket is { } socket)
            {
                await LingerAsync(socket);
            }

            // Every request of the connection has completed (the app host's task ends with the app's call).
            _worker.Parsers.Return(_parser, _head);
        }
    }

    /// <summary>How long a lingering close may last in all, and without a byte from the client.</summary>
    internal static readonly TimeSpan LingerTime = TimeSpan.FromSeconds(5);
    internal static readonly TimeSpan LingerIdle = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The response has gone out but the client is still sending a body nobody read. Closing now would send
    /// RST (unread bytes in the receive queue), and a client still sending would see its upload fail and lose
    /// the response. As nginx's lingering close: stop sending (FIN after the response), then read and drop
    /// until the client closes, bounded by <see cref="LingerTime"/> in all and <see cref="LingerIdle"/> between
    /// reads, so a client that keeps sending cannot hold the connection.
    /// </summary>
    private async Task LingerAsync(Socket socket)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(65536);
        try
        {
            socket.Shutdown(SocketShutdown.Send);
            var deadline = Environment.TickCount64 + (long)LingerTime.TotalMilliseconds;
            while (true)
            {
                var left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    return;
                }

                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(Math.Min(left, LingerIdle.TotalMilliseconds)));
                if (await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) == 0)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Gone, silent or out of time: close.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Reads until one request head has been parsed. False: the connection is done. Waiting for a
    /// request's first byte is bounded by keepalive (timeout before the first request) and may be cut
    /// short when the worker needs the slot; once bytes arrive, the whole head must follow within
    /// timeout, so a client trickling bytes cannot hold the connection forever.
    /// </summary>
    private async Task<bool> ReadHeadAsync()
    {
        _head.Reset();
        // Before the first request the connection waits timeout for it (a PROXY header already started its clock).
        var idleTimeout = _firstRequest ? _worker.Options.ReadTimeout : _worker.Options.KeepAlive;
        while (true)
        {
            if (await _connection.ReadFrameAsync(idleTimeout, _worker.Options.ReadTimeout) is not { } read)
            {
                return false;
            }

            var buffer = read.Buffer;
            if (buffer.IsEmpty && read.IsCompleted)
            {
                return false;
            }

            if (TryParseHead(buffer, out var consumed))
            {
                _reader.AdvanceTo(consumed);
                _connection.EndFrame();
                return true;
            }

            if (read.IsCompleted)
            {
                throw HttpRejection.Create(RequestRejectionReason.UnexpectedEndOfInput, "");
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private bool TryParseHead(ReadOnlySequence<byte> buffer, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        var done = _parser.TryParseHead(ref reader, _head);
        consumed = reader.Position;
        return done;
    }

    /// <summary>Runs one request through the app. False: close the connection afterwards.</summary>
    private async Task<bool> ServeRequestAsync()
    {
        var startTime = DateTimeOffset.UtcNow; // the log formatters convert to local time, off the request path
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        if (ResponseHeadWriter.NeedsContinue(_head))
        {
            await _stream.WriteAsync(Continue100);
        }

        var body = await ReadBodyAsync();
        var request = _worker.Requests.Build(_head, body, _connection.Listener, _connection.RemoteEndPoint, _connection.Proxy, _connection.TlsEnviron);
        request.Upgrade = this;
        _worker.OnRequestStarting(); // may stop the worker (max_requests): then this response closes the connection
        var forceClose = _worker.Options.KeepAlive <= TimeSpan.Zero || _worker.Stopping.IsCancellationRequested;
        using var sink = new ResponseSink(_stream, _head, forceClose, _worker.Stopping);

        try
        {
            await _worker.Host.RunAsync(request, sink);
        }
        catch (BadHttpRequestException e) when (sink.HeadersSent)
        {
            // Bad chunked framing met by the app's read after its response began: no 400 can follow it.
            _worker.Log.Warning(InvalidRequestLine(e));
            return false;
        }
        finally
        {
            ReturnBody();
        }

        _worker.OnRequestDone(new CompletedRequest(request, sink, startTime, System.Diagnostics.Stopwatch.GetElapsedTime(started)));
        _bodyLeftUnread = body is PipeRequestBody { IsComplete: false };
        if (!sink.KeepAlive || _upgraded)
        {
            return false;
        }

        return body is not PipeRequestBody streamed || await streamed.DrainAsync(_worker.Options.ReadTimeout);
    }

    private async Task RejectAsync(BadHttpRequestException e)
    {
        if (e.IsEndOfInput)
        {
            return;
        }

        _worker.Log.Warning(InvalidRequestLine(e));
        try
        {
            await _stream.WriteAsync(e.BuildResponse());
        }
        catch (IOException)
        {
        }
    }

    private string InvalidRequestLine(BadHttpRequestException e) => ConnectionPipeline.InvalidRequestLine(_connection, e);
}
