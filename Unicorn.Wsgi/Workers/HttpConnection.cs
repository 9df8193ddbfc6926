using System.Buffers;
using System.IO.Pipelines;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Http;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// The HTTP/1 connection state machine, the one place it lives: reads request heads off the GIL, answers
/// 100-continue, reads or streams bodies, hands each request to a Python thread, and loops for keep-alive
/// and pipelining until the connection closes (lingering when a body was left unread; the loop, the held body
/// and the lingering close are <see cref="RequestConnection"/>'s, shared with uwsgi). It starts once the
/// connection pipeline (Connections/) has read any PROXY header and done any TLS handshake; HTTP rules live
/// in Http/; the app is reached only through <see cref="Hosts.IAppHost"/>.
/// </summary>
internal sealed partial class HttpConnection : RequestConnection
{
    private static readonly byte[] Continue100 = ResponseHeadWriter.ContinueResponse.ToArray();

    private readonly Stream _stream;
    private readonly PipeReader _reader;
    private readonly Http1RequestParser _parser;
    private readonly RequestHead _head;

    public HttpConnection(ConnectionContext connection, WorkerContext worker)
        : base(connection, worker)
    {
        _stream = connection.Transport;
        _reader = connection.Input;
        (_parser, _head) = worker.Parsers.Rent();
        // Whose X-Forwarded-* headers count was decided once for the connection (a unix peer is trusted).
        _parser.StartConnection(connection.ForwardedTrusted);
    }

    // Every request of the connection has completed (the app host's task ends with the app's call).
    protected override void Closed() => _worker.Parsers.Return(_parser, _head);

    protected override void StartFrame() => _head.Reset();

    protected override bool TryParseFrame(ReadOnlySequence<byte> buffer, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        var done = _parser.TryParseHead(ref reader, _head);
        consumed = reader.Position;
        return done;
    }

    protected override Exception Truncated(long length) => HttpRejection.Create(RequestRejectionReason.UnexpectedEndOfInput, "");

    protected override bool IsRejection(Exception e) => e is BadHttpRequestException;

    /// <summary>Runs one request through the app. False: close the connection afterwards.</summary>
    protected override async Task<bool> ServeRequestAsync()
    {
        // h2c by Upgrade, for a peer trusted with forwarded headers: the connection becomes HTTP/2.
        if (_worker.Http2Upgrade is { } h2c && _connection.ForwardedTrusted && Http2CleartextUpgrade.IsRequested(_head))
        {
            await h2c.RunAsync(_connection, _head);
            return false;
        }

        var startTime = DateTimeOffset.UtcNow; // the log formatters convert to local time, off the request path
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        if (ResponseHeadWriter.NeedsContinue(_head))
        {
            await _stream.WriteAsync(Continue100);
        }

        var body = await ReadBodyAsync();
        var request = _worker.Requests.Build(_head, body, _connection.Listener, _connection.RemoteEndPoint, _connection.Proxy, _connection.TlsEnviron);
        request.Upgrade = this;
        request.ClientConnection = this;
        _worker.OnRequestStarting(); // may stop the worker (max_requests): then this response closes the connection
        var forceClose = _worker.Options.KeepAlive <= TimeSpan.Zero || _worker.Stopping.IsCancellationRequested;
        using var sink = new ResponseSink(_stream, _head, forceClose, _worker.Stopping) { AllowSendfile = _worker.Options.Sendfile };

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
        InputLeftUnread = body is PipeRequestBody { IsComplete: false };
        if (!sink.KeepAlive || _upgraded)
        {
            return false;
        }

        return body is not PipeRequestBody streamed || await streamed.DrainAsync(_worker.Options.ReadTimeout);
    }

    protected override async Task RejectAsync(Exception rejection)
    {
        var e = (BadHttpRequestException)rejection;
        if (e.IsEndOfInput)
        {
            return;
        }

        _worker.Log.Warning(InvalidRequestLine(e));
        _worker.OnRequestRefused(e, _connection.RemoteEndPoint);
        // What the client sent past the refused part (the rest of a long request line, a body) is still arriving:
        // closing on it would reset the connection, and a client still sending could lose the 400.
        InputLeftUnread = true;
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
