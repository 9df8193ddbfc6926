using System.Buffers;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Python.Runtime;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;

namespace Unicorn.PythonBridge.Asgi;

/// <summary>
/// One http scope between the loop and the connection. Python reads the request from its properties and calls
/// its methods holding the GIL; they only copy bytes and queue work. Writes and streamed body reads run off the
/// loop, one at a time in order, and resolve the Python future the caller awaits (back-pressure without blocking
/// the loop). Public because Python calls it through pythonnet.
/// </summary>
public sealed class PythonAsgiExchange
{
    private const int ReadBlock = 64 * 1024;

    // What _watch holds once the exchange has ended, so no watch starts after it.
    private static readonly CancellationTokenSource WatchStopped = new();

    private readonly PythonAsgiLoop _loop;
    private readonly WsgiRequest _request;
    private readonly IResponseSink _sink;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();
    private Task _writes = Task.CompletedTask;
    private Task _read = Task.CompletedTask;

    // A body read begun while filling one http.request event that had to wait for the client: the next event starts
    // with its bytes, which it writes into _carriedBuffer from _carriedOffset. Only the read chain touches these.
    private Task<int>? _carried;
    private byte[]? _carriedBuffer;
    private int _carriedOffset;
    private bool _responseSet;
    private int _status = 500;
    private IReadOnlyList<KeyValuePair<string, string>> _headers = [];
    private long _sent;
    private bool _ended;
    private volatile bool _gone;
    private CancellationTokenSource? _watch;
    private volatile Exception? _readFailure;

    internal PythonAsgiExchange(PythonAsgiLoop loop, long id, WsgiRequest request, IResponseSink sink)
    {
        _loop = loop;
        Id = id;
        _request = request;
        _sink = sink;
        IsWebSocket = PythonAsgiWebSocket.IsUpgrade(request);
    }

    /// <summary>A websocket opening handshake: the scope is a websocket scope.</summary>
    public bool IsWebSocket { get; }

    /// <summary>The websocket once the app accepted it; null before.</summary>
    public PythonAsgiWebSocket? WebSocket { get; private set; }

    internal Task Completion => _completion.Task;

    public long Id { get; }

    /// <summary>Environment.TickCount64 when the request was handed to the loop (max_request_time counts from it).</summary>
    internal long StartedAt { get; } = Environment.TickCount64;

    public string Method => _request.Method;

    public string Scheme => _request.UrlScheme;

    /// <summary>The path as sent, still percent-encoded (raw_path; Python decodes path from it).</summary>
    public string Path => _request.Path;

    public string Query => _request.Query;

    /// <summary>ASGI's spelling of the protocol: "1.0", "1.1" or "2".</summary>
    public string HttpVersion => _request.Protocol switch
    {
        "HTTP/2" => "2",
        "HTTP/1.0" => "1.0",
        _ => "1.1",
    };

    public string ScriptName => _request.ScriptName;

    /// <summary>Header names and values in arrival order, joined by NUL (which no header may contain): one string crossing.</summary>
    public string Headers
    {
        get
        {
            var b = new StringBuilder();
            foreach (var (name, value) in _request.Headers)
            {
                if (b.Length > 0)
                {
                    b.Append('\0');
                }

                b.Append(name).Append('\0').Append(value);
            }

            return b.ToString();
        }
    }

    /// <summary>The socket's peer address: REMOTE_ADDR of the environ the hooks see, as Gunicorn's.</summary>
    public string? ClientHost => _request.RemoteEndPoint?.Address.ToString();

    /// <summary>
    /// The scope's client: the socket's peer, or under uvicorn's worker class the host a trusted forwarder's
    /// X-Forwarded-For names (the last such header, as uvicorn's dict of the headers keeps), with port 0 as uvicorn
    /// gives it. Read once per request, when the scope is built.
    /// </summary>
    internal (string? Host, int Port) Client()
    {
        var peer = _request.RemoteEndPoint;
        if (_loop.Options.ForwardedClient is { } read)
        {
            string? header = null;
            foreach (var (name, value) in _request.Headers)
            {
                if (name.Equals("X-Forwarded-For", StringComparison.OrdinalIgnoreCase))
                {
                    header = value;
                }
            }

            if (read(peer?.Address, header) is { } forwarded)
            {
                return (forwarded, 0);
            }
        }

        return (peer?.Address.ToString(), peer?.Port ?? 0);
    }

    public string ServerName => _request.ServerName;

    public int ServerPort => int.TryParse(_request.ServerPort, NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : 0;

    /// <summary>The request, for the scope <see cref="AsgiHttpScope"/> builds.</summary>
    internal WsgiRequest Request => _request;

    /// <summary>The root_path setting; empty when unset (the scope takes SCRIPT_NAME then).</summary>
    internal string RootPath => _loop.Options.RootPath;

    /// <summary>
    /// The whole body as bytes when it was read before the app ran, else None: it streams (<see cref="Read"/>).
    /// Called as <c>fast.body</c> with the GIL held; a new reference, or 0 with an error set.
    /// </summary>
    internal nint BufferedBody()
    {
        // As the WSGI bridge: one copy, from wherever the body lies (the connection's receive buffers, perhaps several)
        // into the bytes object, never first into an array of its own.
        var request = _request.Body;
        return request.TryGetBufferedSequence(out var body) ? NewBytes(body)
            : request.TryGetHeldLength(out var held) ? NewHeldBytes(request, held)
            : CPython.NewRef(CPython.Py_None);
    }

    /// <summary>A chunked body still in its framing, decoded once, straight into a new bytes object.</summary>
    private static unsafe nint NewHeldBytes(RequestBody body, int length)
    {
        var o = CPython.NewBytes(length, out var destination);
        if (o != 0)
        {
            body.CopyHeldTo(new Span<byte>(destination, length));
        }

        return o;
    }

    /// <summary>
    /// Reads the next block of a streamed body off the loop, waiting for the client on async I/O rather than on a
    /// pool thread; the future gets bytes, b"" at the end.
    /// </summary>
    public void Read(PyObject future)
    {
        lock (_gate)
        {
            _read = Task.Run(async () =>
            {
                try
                {
                    var (buffer, start) = (_carriedBuffer ?? new byte[ReadBlock], _carriedOffset);
                    var read = _carried ?? _request.Body.ReadAsync(buffer.AsMemory(start)).AsTask();
                    (_carried, _carriedBuffer, _carriedOffset) = (null, null, 0);
                    var end = start + await read.ConfigureAwait(false);
                    end = TakeWhatIsThere(buffer, start, end);
                    _loop.Resolve(future, () => ToBytes(buffer.AsSpan(start, end - start)));
                }
                catch (Exception e)
                {
                    // Gone, timed out or badly framed: for the app the body ends in http.disconnect either way. Kept for
                    // End, which answers it as the connection would (a 400, a timeout's line), not as the app's 500.
                    if (e is IOException or BadHttpRequestException)
                    {
                        _readFailure = e;
                    }

                    _loop.Fail(future, e.Message, disconnect: true);
                }
            });
        }
    }

    /// <summary>
    /// Adds to one event what more of the body is already here (a read that completes at once): the connection's
    /// reads are 8 KiB, and an event per read made a 10 MB upload 1,262 events (uvicorn's: 39, one per socket read).
    /// A read that has to wait is carried to the next event, so nothing that arrived waits for what has not.
    /// </summary>
    private int TakeWhatIsThere(byte[] buffer, int start, int end)
    {
        while (end > start && end < buffer.Length)
        {
            var more = _request.Body.ReadAsync(buffer.AsMemory(end));
            if (!more.IsCompletedSuccessfully)
            {
                // Waiting, or failed: the next event answers it (its bytes, or http.disconnect).
                (_carried, _carriedBuffer, _carriedOffset) = (more.AsTask(), buffer, end);
                break;
            }

            if (more.Result == 0)
            {
                break; // the body ended: the next read answers b"" at once
            }

            end += more.Result;
        }

        return end;
    }

    /// <summary>
    /// The app awaits the end of the exchange (receive() after the whole body: a long poll's disconnect listener,
    /// Starlette's is_disconnected()): watch the client's connection until the exchange ends, so a client that leaves
    /// before anything is written is noticed, as uvicorn notices it, and not only when a write fails. Once per exchange.
    /// </summary>
    public void WatchClient()
    {
        CancellationToken token;
        lock (_gate)
        {
            if (_watch is not null || _ended || _gone || _request.ClientConnection is null)
            {
                return;
            }

            _watch = new CancellationTokenSource();
            token = _watch.Token;
        }

        // Started here, not on the pool: a framework may ask on every request (Django's and Quart's disconnect
        // listeners), and the receive it starts goes pending at once.
        _ = WatchAsync(_request.ClientConnection, token);
    }

    private async Task WatchAsync(IClientConnection client, CancellationToken token)
    {
        if (await client.WaitUntilClosedAsync(token).ConfigureAwait(false) && !token.IsCancellationRequested)
        {
            _gone = true;
            _loop.Disconnected(Id);
        }
    }

    /// <summary>
    /// websocket.accept: answers 101 and takes the connection over; the future's resolution is queued before the 101
    /// starts out, the websocket's sends queued behind it (<see cref="PythonAsgiWebSocket.Accept"/>).
    /// </summary>
    public void Accept(string? subprotocol, string headers, int count, PyObject future)
    {
        var list = Pairs(headers, count);
        lock (_gate)
        {
            _writes = _writes.ContinueWith(_ =>
            {
                try
                {
                    var websocket = PythonAsgiWebSocket.Accept(_loop, Id, _request, subprotocol, list);
                    WebSocket = websocket;
                    // The 101 goes out on the taken stream; the sink only records it for the access log.
                    _sink.SetResponse("101 Switching Protocols", []);
                    _ended = true;
                    // Queued on the loop before the 101 is written, so ahead of whatever the client then makes happen.
                    _loop.Resolve(future, () => null);
                    websocket.WriteHandshake();
                }
                catch (InvalidResponseException e)
                {
                    // Refused before the connection was taken: the app's send raises, and End answers 500.
                    _loop.Fail(future, e.Message, disconnect: false);
                }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
                {
                    _gone = true;
                    _loop.Fail(future, e.Message, disconnect: true);
                }
            }, TaskScheduler.Default);
        }
    }

    /// <summary>http.response.start: checks status and headers now (no I/O); returns why they were refused, or null.</summary>
    public string? Start(string status, string headers, int count) => Start(status, Pairs(headers, count));

    /// <summary>As <see cref="Start(string, string, int)"/>, with headers <c>fast.start</c> read from the app's list.</summary>
    internal string? Start(string status, List<KeyValuePair<string, string>> list)
    {
        try
        {
            _sink.SetAsgiResponse(status, list);
            _responseSet = true;
            _status = int.TryParse(status.AsSpan(0, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : 500;
            _headers = list;
            return null;
        }
        catch (InvalidResponseException e)
        {
            return e.Message;
        }
    }

    /// <summary>http.response.informational (103 Early Hints): written in order with the response, off the loop.</summary>
    public void EarlyHints(string headers, int count, PyObject future)
    {
        var list = Pairs(headers, count);
        Enqueue(() => _sink.SendEarlyHints(list), future);
    }

    /// <summary>http.response.trailers (HTTP/2 only): recorded in order with the writes, sent when the response completes.</summary>
    public void Trailers(string headers, int count, PyObject future)
    {
        var list = Pairs(headers, count);
        Enqueue(() => _sink.AddTrailers(list), future);
    }

    /// <summary>
    /// The fast path of http.response.body, without a future: 0 when the bytes are written already (the usual case,
    /// a socket with room: no thread hop and no loop wake-up); 1 when the write started and the app must await the
    /// request's write future, which <see cref="PythonAsgiLoop.Written"/> settles; 2 when writes are queued before it and
    /// the app must call <see cref="Write"/>.
    /// Called as <c>fast.write</c>, a C function, so the GIL stays held; <paramref name="body"/> is borrowed.
    /// </summary>
    internal int WriteNow(nint body, bool more)
    {
        lock (_gate)
        {
            // A sink whose WriteAsync would block (HTTP/2's) is written off the loop, as before.
            if (!_sink.HasAsyncWrites || !_writes.IsCompleted || _gone)
            {
                return 2;
            }

            // The sink copies the bytes before WriteAsync returns, so they are read in place, under the GIL.
            var data = BytesOf(body);
            _sent += data.Length;
            ValueTask pending;
            try
            {
                pending = _sink.WriteAsync(data, complete: !more);
            }
            catch (Exception e)
            {
                pending = ValueTask.FromException(e);
            }

            if (pending.IsCompletedSuccessfully)
            {
                _ended |= !more;
                return 0;
            }

            // The app awaits the request's write future, which AfterWrite settles (by id, through the C API).
            _writes = pending.AsTask().ContinueWith(
                static (written, self) => ((PythonAsgiExchange)self!).AfterWrite(written), this,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            _ended |= !more; // a failed write marks the exchange gone, which End checks first
            return 1;
        }
    }

    /// <summary>Ends the app's wait for the write <see cref="WriteNow"/> started: OSError when the client went away.</summary>
    private void AfterWrite(Task written)
    {
        if (written.IsCompletedSuccessfully)
        {
            _loop.Written(Id, WriteOutcome.Done);
            return;
        }

        var e = written.Exception?.InnerException;
        if (e is IOException or SocketException or ObjectDisposedException)
        {
            _gone = true;
            _loop.Written(Id, WriteOutcome.Gone, e.Message);
            _loop.Disconnected(Id);
        }
        else
        {
            _loop.Written(Id, WriteOutcome.Failed, e?.Message ?? "the write failed");
        }
    }

    /// <summary>http.response.body: copies the bytes and writes them off the loop; the future resolves once written.</summary>
    public void Write(PyObject body, bool more, PyObject future)
    {
        byte[] data;
        using (Py.GIL()) // pythonnet released it around this call into .NET
        {
            data = CopyBytes(body);
        }

        _sent += data.Length;

        // Async I/O: a client that stops reading holds no thread while its socket is full.
        EnqueueAsync(async () =>
        {
            await _sink.WriteAsync(data, complete: !more).ConfigureAwait(false);
            _ended |= !more;
        }, future);
    }

    /// <summary>http.response.pathsend: the file goes out with sendfile(2) when the transport allows it.</summary>
    public void SendFile(string path, PyObject future)
    {
        try
        {
            _sent += new FileInfo(path).Length; // for post_request's resp.sent, which may run before the write
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            // The write below fails the same way and tells the app.
        }

        SendFileLater(path, future);
    }

    // Where sendfile(2) cannot go (TLS, HTTP/2), the file goes in blocks through WriteAsync, which waits for a slow
    // client (or an HTTP/2 stream's window) on async I/O rather than on the pool thread.
    private void SendFileLater(string path, PyObject future) => EnqueueAsync(async () =>
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var length = RandomAccess.GetLength(file);
        if (!_sink.TrySendFile(file, 0, length))
        {
            var buffer = new byte[ReadBlock];
            long offset = 0;
            int n;
            while ((n = RandomAccess.Read(file, buffer, offset)) > 0)
            {
                await _sink.WriteAsync(buffer.AsSpan(0, n), complete: false).ConfigureAwait(false);
                offset += n;
            }
        }

        await _sink.WriteAsync([], complete: true).ConfigureAwait(false);
        _ended = true;
    }, future);

    /// <summary>The raw request URI, for post_request's environ (RAW_URI).</summary>
    public string RawUri => _request.RawUri;

    /// <summary>pre_request, before the app runs; false when it raised (logged), and the request is answered 500.</summary>
    public bool PreRequest() => _loop.Hooks?.PreRequest(_request) ?? true;

    /// <summary>post_request, once the app's task has ended, with what the app sent (500 when it sent no start).</summary>
    public void PostRequest(PyObject environ) => _loop.Hooks?.PostRequest(_request, _status, _headers, _sent, environ);

    /// <summary>The app's task ended: answer 500 if it never responded, cut a response it left unfinished, then release the connection.</summary>
    public void Finish()
    {
        lock (_gate)
        {
            // The usual end: the response went out whole (or the client left) and nothing is in flight. It needs no
            // continuation of its own: the loop hands it to one thread-pool item that ends every exchange the loop
            // finished meanwhile (one wake-up for a batch, not one per request).
            if (_writes.IsCompleted && _read.IsCompleted && (_carried?.IsCompleted ?? true) && WebSocket is null && (_ended || _gone))
            {
                _loop.EndSoon(this);
                return;
            }

            var read = _read;
            _writes = _writes.ContinueWith(async _ =>
            {
                // A streamed-body read still running owns the connection's input: wait for it, and for one it carried
                // (whose failure, if any, the app never asked for).
                await read.ConfigureAwait(false);
                if (_carried is { } carried)
                {
                    await carried.ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
                }

                if (WebSocket is { } socket)
                {
                    await socket.FinishAsync().ConfigureAwait(false);
                }

                End();
            }, TaskScheduler.Default).Unwrap();
        }
    }

    /// <summary>Ends an exchange <see cref="Finish"/> found complete (<see cref="PythonAsgiLoop.EndSoon"/>), off the loop.</summary>
    internal void EndFinished() => End();

    private void End()
    {
        Exception? fault = null;
        try
        {
            if (!_ended && !_gone && _readFailure is { } failure)
            {
                // The body could not be read (the app saw http.disconnect): as the WSGI hosts, bad chunked framing is
                // the connection's 400 (or a warning once a response began), a timeout its one line, a client gone
                // nothing. Never the 500 of an app that did not respond.
                _sink.Abort();
                switch (failure)
                {
                    case RequestBodyTimeoutException slow:
                        _loop.ErrorLog.Info(slow.LogLine(_request.RemoteEndPoint?.Address.ToString() ?? "unix"));
                        break;
                    case IOException:
                        _loop.ErrorLog.Debug($"Ignored premature client disconnection. {failure.Message}");
                        break;
                    default:
                        fault = failure;
                        break;
                }
            }
            else if (!_ended && !_gone)
            {
                if (!_responseSet && !_sink.HeadersSent)
                {
                    _sink.SetResponse("500 Internal Server Error", [new("Content-Type", "text/plain"), new("Content-Length", "21")]);
                    _sink.Write("Internal Server Error"u8);
                    _sink.Complete();
                }
                else
                {
                    _sink.Abort();
                }
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or InvalidResponseException)
        {
            _sink.Abort();
        }
        finally
        {
            StopWatching();
            _loop.Ended(Id);
            if (fault is not null)
            {
                _completion.TrySetException(fault);
            }
            else
            {
                _completion.TrySetResult();
            }
        }
    }

    // The connection goes on to its next request (or closes): the watch's pending receive must not outlive the exchange.
    private void StopWatching()
    {
        if (Interlocked.Exchange(ref _watch, WatchStopped) is { } watch && watch != WatchStopped)
        {
            watch.Cancel();
            watch.Dispose();
        }
    }

    private void Enqueue(Action write, PyObject future) => EnqueueAsync(() =>
    {
        write();
        return ValueTask.CompletedTask;
    }, future);

    private void EnqueueAsync(Func<ValueTask> write, PyObject future)
    {
        lock (_gate)
        {
            _writes = _writes.ContinueWith(async _ =>
            {
                if (_gone)
                {
                    _loop.Fail(future, "client disconnected", disconnect: true);
                    return;
                }

                try
                {
                    await write().ConfigureAwait(false);
                    _loop.Resolve(future, () => null);
                }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
                {
                    _gone = true;
                    _loop.Fail(future, e.Message, disconnect: true);
                    _loop.Disconnected(Id);
                }
                catch (Exception e)
                {
                    // The app's mistake (a missing file for pathsend, say): its send() raises it.
                    _loop.Fail(future, e.Message, disconnect: false);
                }
            }, TaskScheduler.Default).Unwrap();
        }
    }

    private static List<KeyValuePair<string, string>> Pairs(string headers, int count)
    {
        var parts = count == 0 ? [] : headers.Split('\0');
        var list = new List<KeyValuePair<string, string>>(parts.Length / 2);
        for (var i = 0; i + 1 < parts.Length; i += 2)
        {
            list.Add(new(parts[i], parts[i + 1]));
        }

        return list;
    }

    internal static byte[] CopyBytes(PyObject body) => CopyBytes(Handles.Of(body));

    private static byte[] CopyBytes(nint body) => BytesOf(body).ToArray();

    /// <summary>The bytes object's own buffer: valid while the caller holds the GIL and a reference to it.</summary>
    private static unsafe ReadOnlySpan<byte> BytesOf(nint body)
    {
        byte* data;
        nint size;
        if (CPython.PyBytes_AsStringAndSize(body, &data, &size) != 0)
        {
            CPython.PyErr_Clear();
            throw new ArgumentException("an ASGI body must be bytes"); // pythonnet raises it in the app as TypeError
        }

        return new ReadOnlySpan<byte>(data, (int)size);
    }

    internal static unsafe PyObject ToBytes(ReadOnlySpan<byte> bytes)
    {
        nint o;
        fixed (byte* p = bytes)
        {
            o = CPython.PyBytes_FromStringAndSize(p, bytes.Length);
        }

        return Wrap(o);
    }

    /// <summary>
    /// A bytes object of <paramref name="bytes"/>, filled segment by segment (the one copy there is): a new reference,
    /// or 0 with an error set.
    /// </summary>
    private static unsafe nint NewBytes(in ReadOnlySequence<byte> bytes)
    {
        if (bytes.IsSingleSegment)
        {
            fixed (byte* p = bytes.FirstSpan)
            {
                return CPython.PyBytes_FromStringAndSize(p, bytes.FirstSpan.Length);
            }
        }

        var length = checked((int)bytes.Length);
        var o = CPython.NewBytes(length, out var destination);
        if (o != 0)
        {
            bytes.CopyTo(new Span<byte>(destination, length));
        }

        return o;
    }

    private static unsafe PyObject Wrap(nint o)
    {
        if (o == 0)
        {
            CPython.PyErr_Clear();
            throw new OutOfMemoryException("could not allocate a bytes object");
        }

        try
        {
            return Handles.Wrap(o);
        }
        finally
        {
            CPython.Py_DecRef(o);
        }
    }
}
