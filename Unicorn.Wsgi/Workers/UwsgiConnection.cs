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
/// </summary>
internal sealed class UwsgiConnection
{
    private readonly ConnectionContext _connection;
    private readonly WorkerContext _worker;
    private readonly UwsgiPacket _packet = new();
    private readonly RequestHead _head = new();
    private bool _firstRequest = true;
    private bool _unreadInput;
    // A body the app reads from the receive buffers, and where the reader resumes once the app is done.
    private SequenceRequestBody? _heldBody;
    private SequencePosition _heldBodyEnd;

    public UwsgiConnection(ConnectionContext connection, WorkerContext worker)
    {
        _connection = connection;
        _worker = worker;
    }

    private string RemoteText => _connection.RemoteText;

    public async Task RunAsync()
    {
        try
        {
            if (!_worker.Options.UwsgiAllowIps.Contains(_connection.RemoteEndPoint?.Address))
            {
                // Gunicorn's ForbiddenUWSGIRequest, checked before anything is read.
                throw new UwsgiProtocolException(403, $"uWSGI request from '{RemoteText}' not allowed");
            }

            while (await ReadPacketAsync() && await ServeRequestAsync())
            {
                _firstRequest = false;
            }
        }
        catch (UwsgiProtocolException e)
        {
            await RejectAsync(e);
        }
        catch (RequestBodyTimeoutException)
        {
            _worker.Log.Info(RequestBodyTimeoutException.LogLine(RemoteText));
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The peer went away or a timeout fired: nothing to answer.
        }
        catch (Exception e)
        {
            _worker.Log.Error($"Error handling request from {RemoteText}: {e}");
        }
        finally
        {
            ReturnBody();
            if (_unreadInput && _connection.Socket is { } socket)
            {
                // Bytes left unread (a body the app skipped, a refused packet): drain them briefly, so the peer
                // reads the response instead of a reset.
                await DrainAsync(socket);
            }
        }
    }

    /// <summary>
    /// Reads until one packet has been parsed. False: the connection is done. The wait for a packet's first
    /// byte is bounded by timeout (first packet) or keepalive; the rest of the packet must follow within timeout.
    /// </summary>
    private async Task<bool> ReadPacketAsync()
    {
        var reader = _connection.Input;
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

            var sequence = new SequenceReader<byte>(buffer);
            if (UwsgiPacketParser.TryParse(ref sequence, _packet))
            {
                reader.AdvanceTo(sequence.Position);
                _connection.EndFrame();
                return true;
            }

            if (read.IsCompleted)
            {
                throw UwsgiPacketParser.Truncated(buffer.Length);
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private async Task<bool> ServeRequestAsync()
    {
        var startTime = DateTimeOffset.UtcNow;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var body = await ReadBodyAsync(_packet.ContentLength);
        var listener = _connection.Listener;
        var peer = _connection.Proxy is { ClientAddress: { } address, ClientPort: { } port } && System.Net.IPAddress.TryParse(address, out var ip)
            ? new System.Net.IPEndPoint(ip, port)
            : _connection.RemoteEndPoint;
        var request = UwsgiRequestMapper.Build(_packet, body, (listener.ServerName, listener.ServerPort), listener.Scheme, peer,
            _worker.Options.ScriptName, _connection.TlsEnviron);

        // The head ResponseSink frames the response by: HTTP/1.0 framing, so no chunked coding (see the class summary).
        _head.Reset();
        _head.Method = request.Method;
        _head.VersionMajor = 1;
        _head.VersionMinor = 0;
        _head.KeepAlive = !request.WantsClose;

        _worker.OnRequestStarting();
        var forceClose = _worker.Options.KeepAlive <= TimeSpan.Zero || _worker.Stopping.IsCancellationRequested;
        using var sink = new ResponseSink(_connection.Transport, _head, forceClose, _worker.Stopping);
        try
        {
            await _worker.Host.RunAsync(request, sink);
        }
        finally
        {
            ReturnBody();
        }

        _worker.OnRequestDone(new CompletedRequest(request, sink, startTime, System.Diagnostics.Stopwatch.GetElapsedTime(started)));
        _unreadInput = body is PipeRequestBody { IsComplete: false };
        if (!sink.KeepAlive)
        {
            return false;
        }

        return body is not PipeRequestBody streamed || await streamed.DrainAsync(_worker.Options.ReadTimeout);
    }

    /// <summary>A body up to <see cref="WorkerOptions.BufferedBodyLimit"/> is read before the app runs; a larger one streams.</summary>
    private async Task<RequestBody> ReadBodyAsync(long size)
    {
        if (size <= 0)
        {
            return RequestBody.Empty;
        }

        var reader = _connection.Input;
        if (size > WorkerOptions.BufferedBodyLimit)
        {
            return new PipeRequestBody(reader, size, null, ReadOnlyMemory<byte>.Empty, _worker.Options.ReadTimeout);
        }

        while (true)
        {
            var read = await _connection.ReadAsync(_worker.Options.ReadTimeout) ?? throw new RequestBodyTimeoutException();
            var buffer = read.Buffer;
            if (buffer.Length >= size)
            {
                // Left in the receive buffers until the app is done (ReturnBody), as HttpConnection does:
                // the bridge copies it from there into Python, its one copy in user space.
                _heldBodyEnd = buffer.GetPosition(size);
                _heldBody = new SequenceRequestBody(buffer.Slice(0, _heldBodyEnd));
                return _heldBody;
            }

            if (read.IsCompleted)
            {
                throw new IOException("peer closed the connection before sending the whole body");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>The app is done with the body: the reader may move past it.</summary>
    private void ReturnBody()
    {
        if (_heldBody is { } held)
        {
            _heldBody = null;
            held.Release();
            _connection.Input.AdvanceTo(_heldBodyEnd);
        }
    }

    private async Task RejectAsync(UwsgiProtocolException e)
    {
        if (e.IsEndOfInput)
        {
            return;
        }

        _worker.Log.Warning($"Invalid uwsgi request from ip={RemoteText}: {e.Message}");
        _unreadInput = true;
        try
        {
            await _connection.Transport.WriteAsync(ErrorResponse.Build(e.StatusCode, e.ReasonPhrase, e.Message));
        }
        catch (IOException)
        {
        }
    }

    private static async Task DrainAsync(System.Net.Sockets.Socket socket)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(65536);
        try
        {
            socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            using var cts = new CancellationTokenSource(HttpConnection.LingerTime);
            while (await socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, cts.Token) > 0)
            {
            }
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Gone or out of time: close.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
