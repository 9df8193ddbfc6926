using System.Buffers;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Http;
using Unicorn.Wsgi.Uwsgi;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// The uwsgi connection state machine: refuses a peer outside <c>uwsgi_allow_ips</c>, reads a packet off the
/// GIL (<see cref="UwsgiPacketParser"/>), reads or streams its CONTENT_LENGTH body, hands the request to the
/// app host, and writes the response as nginx's uwsgi module reads it: an HTTP/1.x head, then a body framed
/// by Content-Length or by closing the connection (nginx decodes no chunked coding from a uwsgi upstream, and
/// takes a first status line as the final one, so no 103 goes out). nginx sends one request per connection;
/// a peer that keeps the connection after a length-framed response may send another packet within keepalive.
/// The loop, the held body and the lingering close are <see cref="RequestConnection"/>'s, shared with HTTP/1.
/// </summary>
internal sealed class UwsgiConnection : RequestConnection
{
    private readonly UwsgiPacket _packet = new();
    private readonly RequestHead _head = new();

    public UwsgiConnection(ConnectionContext connection, WorkerContext worker)
        : base(connection, worker)
    {
    }

    protected override void Admit()
    {
        if (!_worker.Options.UwsgiAllowIps.Contains(_connection.RemoteEndPoint?.Address))
        {
            // Gunicorn's ForbiddenUWSGIRequest, checked before anything is read.
            throw new UwsgiProtocolException(403, $"uWSGI request from '{RemoteText}' not allowed");
        }
    }

    protected override bool TryParseFrame(ReadOnlySequence<byte> buffer, out SequencePosition consumed)
    {
        var sequence = new SequenceReader<byte>(buffer);
        var done = UwsgiPacketParser.TryParse(ref sequence, _packet);
        consumed = sequence.Position;
        return done;
    }

    protected override Exception Truncated(long length) => UwsgiPacketParser.Truncated(length);

    protected override bool IsRejection(Exception e) => e is UwsgiProtocolException;

    protected override async Task<bool> ServeRequestAsync()
    {
        var startTime = DateTimeOffset.UtcNow;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var body = await ReadSizedBodyAsync(_packet.ContentLength);
        var listener = _connection.Listener;
        var peer = _connection.Proxy is { ClientAddress: { } address, ClientPort: { } port } && System.Net.IPAddress.TryParse(address, out var ip)
            ? new System.Net.IPEndPoint(ip, port)
            : _connection.RemoteEndPoint;
        var request = UwsgiRequestMapper.Build(_packet, body, (listener.ServerName, listener.ServerPort), listener.Scheme, peer,
            _worker.Options.ScriptName, _connection.TlsEnviron);
        request.ClientConnection = this;

        // The head ResponseSink frames the response by: HTTP/1.0 framing, so no chunked coding (see the class summary).
        _head.Reset();
        _head.Method = request.Method;
        _head.VersionMajor = 1;
        _head.VersionMinor = 0;
        _head.KeepAlive = !request.WantsClose;

        _worker.OnRequestStarting();
        var forceClose = _worker.Options.KeepAlive <= TimeSpan.Zero || _worker.Stopping.IsCancellationRequested;
        using var sink = new ResponseSink(_connection.Transport, _head, forceClose, _worker.Stopping) { AllowSendfile = _worker.Options.Sendfile };
        try
        {
            await _worker.Host.RunAsync(request, sink);
        }
        finally
        {
            ReturnBody();
        }

        _worker.OnRequestDone(new CompletedRequest(request, sink, startTime, System.Diagnostics.Stopwatch.GetElapsedTime(started)));
        InputLeftUnread = body is PipeRequestBody { IsComplete: false };
        if (!sink.KeepAlive)
        {
            return false;
        }

        return body is not PipeRequestBody streamed || await streamed.DrainAsync(_worker.Options.ReadTimeout);
    }

    protected override async Task RejectAsync(Exception rejection)
    {
        var e = (UwsgiProtocolException)rejection;
        if (e.IsEndOfInput)
        {
            return;
        }

        _worker.Log.Warning($"Invalid uwsgi request from ip={RemoteText}: {e.Message}");
        InputLeftUnread = true;
        try
        {
            await _connection.Transport.WriteAsync(ErrorResponse.Build(e.StatusCode, e.ReasonPhrase, e.Message));
        }
        catch (IOException)
        {
        }
    }
}
