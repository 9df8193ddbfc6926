using System.Buffers;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Python.Runtime;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge.Asgi;

/// <summary>
/// The websocket half of a websocket scope, after the app's accept: the 101 response, then RFC 6455 framing by
/// .NET's in-box <see cref="WebSocket"/> over the stream the HTTP/1 connection handed over. Receives and sends run
/// as async I/O (no thread while idle) and resolve the Python future the app awaits. Public because Python calls
/// it through pythonnet.
/// </summary>
public sealed class PythonAsgiWebSocket
{
    private const int ReceiveBlock = 4096;
    private static readonly TimeSpan CloseHandshakeTime = TimeSpan.FromSeconds(5);

    // The OSError a send raises once the peer is gone (reset, closed without a close frame, aborted by a ping timeout):
    // one line the app's log can say plainly, whichever of .NET's exceptions ended the send.
    private const string ClientDisconnected = "client disconnected";

    private readonly PythonAsgiLoop _loop;
    private readonly long _id;
    private readonly WebSocket _socket;
    private readonly CancellationTokenRegistration _stopping;
    private readonly object _gate = new();
    private readonly Task<Task> _handshake;
    private Task _sends;
    private int _closeSent;

    private PythonAsgiWebSocket(PythonAsgiLoop loop, long id, WebSocket socket, CancellationToken stopping, Stream stream, byte[] head)
    {
        _loop = loop;
        _id = id;
        _socket = socket;
        // Written by WriteHandshake; every send and close, even one the app makes before that, goes out after the 101.
        _handshake = new Task<Task>(() => WriteHandshakeAsync(stream, head));
        _sends = _handshake.Unwrap();
        // A graceful stop closes every websocket with 1001 Going Away; the app sees it as websocket.disconnect.
        _stopping = stopping.Register(() => Close(1001, ""));
    }

    /// <summary>
    /// Takes the connection over for a websocket whose 101 response <see cref="WriteHandshake"/> writes; the handshake
    /// was checked by <see cref="IsUpgrade"/>. The caller resumes the app's accept() in between, so it is on the
    /// loop's queue before anything the client does once it has the 101: in a chat, a message another client sends
    /// then is broadcast to this one too.
    /// </summary>
    /// <exception cref="InvalidResponseException">the app's subprotocol or headers are not valid HTTP (nothing was written).</exception>
    internal static PythonAsgiWebSocket Accept(
        PythonAsgiLoop loop, long id, WsgiRequest request, string? subprotocol, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        var upgrade = request.Upgrade ?? throw new InvalidOperationException("the connection cannot be upgraded");
        var key = Header(request, "Sec-WebSocket-Key") ?? "";
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        var head = new StringBuilder("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
        head.Append("Sec-WebSocket-Accept: ").Append(accept).Append("\r\n");
        if (subprotocol is not null)
        {
            CheckHeader("Sec-WebSocket-Protocol", subprotocol);
            head.Append("Sec-WebSocket-Protocol: ").Append(subprotocol).Append("\r\n");
        }

        var deflate = NegotiateDeflate(Header(request, "Sec-WebSocket-Extensions"), out var extension);
        if (extension is not null)
        {
            head.Append("Sec-WebSocket-Extensions: ").Append(extension).Append("\r\n");
        }

        foreach (var (name, value) in headers)
        {
            CheckHeader(name, value);
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        head.Append("\r\n");
        var stream = upgrade.TakeStream();
        var options = loop.Options;
        var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
        {
            IsServer = true,
            SubProtocol = subprotocol,
            KeepAliveInterval = options.WsPingInterval,
            // A ping unanswered this long aborts the connection (no timeout: pings are sent but never awaited).
            KeepAliveTimeout = options.WsPingInterval > TimeSpan.Zero && options.WsPingTimeout > TimeSpan.Zero
                ? options.WsPingTimeout : Timeout.InfiniteTimeSpan,
            DangerousDeflateOptions = deflate,
        });
        return new PythonAsgiWebSocket(loop, id, socket, upgrade.Stopping, stream, Encoding.Latin1.GetBytes(head.ToString()));
    }

    /// <summary>Starts writing the 101 response on this thread; the sends queued behind it follow.</summary>
    internal void WriteHandshake() => _handshake.RunSynchronously();

    // A failure here fails the sends queued behind it, which is how the app learns the client is gone.
    private static async Task WriteHandshakeAsync(Stream stream, byte[] head)
    {
        await stream.WriteAsync(head).ConfigureAwait(false);
        await stream.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>A valid RFC 6455 opening handshake on a connection that can be handed over.</summary>
    internal static bool IsUpgrade(WsgiRequest request) =>
        request.Upgrade is not null
        && request.Method == "GET"
        && request.VersionMinor == 1
        && HasToken(Header(request, "Upgrade"), "websocket")
        && HasToken(Header(request, "Connection"), "upgrade")
        && Header(request, "Sec-WebSocket-Version") == "13"
        && Header(request, "Sec-WebSocket-Key") is { Length: > 0 };

    /// <summary>
    /// Receives one whole message (fragments reassembled up to ws_max_size) as ("text", str), ("bytes", bytes) or
    /// ("close", code): a close from the client, 1009 for a message too big, 1006 when the connection broke.
    /// Called from Python's <c>ws_receive</c> with the GIL held; returns a new reference. The fast path: a single-frame
    /// message already read from the socket is returned at once (str or bytes), with no loop wake-up and no future;
    /// otherwise None, and the message reaches <c>Server.ws_received</c> later. The wait for a message's first frame
    /// is a zero-byte receive: an idle websocket holds no receive block, one is rented once a frame has begun.
    /// </summary>
    internal unsafe nint ReceiveNow()
    {
        // A pending receive may complete between two looks at its task, and reading Result consumes it (the
        // socket reuses the source): each task's state is read once, and a result read here goes on as a new task.
        var header = Start(Memory<byte>.Empty);
        if (!header.IsCompletedSuccessfully)
        {
            _ = ReceiveAsync(header, null);
            return CPython.NewRef(CPython.Py_None);
        }

        var head = header.Result;
        if (head.MessageType == WebSocketMessageType.Close)
        {
            _ = ReceiveAsync(new ValueTask<ValueWebSocketReceiveResult>(head), null);
            return CPython.NewRef(CPython.Py_None);
        }

        if (head is { EndOfMessage: true, Count: 0 })
        {
            // An empty message, complete in its header.
            return head.MessageType == WebSocketMessageType.Text
                ? CPython.PyUnicode_DecodeUTF8(null, 0, null)
                : CPython.PyBytes_FromStringAndSize(null, 0);
        }

        var block = ArrayPool<byte>.Shared.Rent(ReceiveBlock);
        var first = Start(block);
        if (first.IsCompletedSuccessfully)
        {
            var result = first.Result;
            if (result is { EndOfMessage: true } && result.MessageType != WebSocketMessageType.Close && result.Count <= _loop.Options.WsMaxSize)
            {
                try
                {
                    fixed (byte* p = block)
                    {
                        // .NET has already refused invalid UTF-8 in a text message (1007).
                        return result.MessageType == WebSocketMessageType.Text
                            ? CPython.PyUnicode_DecodeUTF8(p, result.Count, null)
                            : CPython.PyBytes_FromStringAndSize(p, result.Count);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(block);
                }
            }

            first = new ValueTask<ValueWebSocketReceiveResult>(result);
        }

        _ = ReceiveAsync(first, block);
        return CPython.NewRef(CPython.Py_None);
    }

    /// <summary>
    /// Starts a receive into <paramref name="into"/>; its failure (broken, or a second receive() while one waits) comes
    /// back in the task, for the slow path to report the usual way. A task completed at once is consumed here and
    /// rewrapped: a ValueTask may be consumed once (awaiting a completed websocket receive twice throws, and a
    /// client's close frame came back as a RuntimeError).
    /// </summary>
    private ValueTask<ValueWebSocketReceiveResult> Start(Memory<byte> into)
    {
        try
        {
            var pending = _socket.ReceiveAsync(into, CancellationToken.None);
            return pending.IsCompletedSuccessfully ? new ValueTask<ValueWebSocketReceiveResult>(pending.Result) : pending;
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            return ValueTask.FromException<ValueWebSocketReceiveResult>(e);
        }
    }

    /// <summary>Sends one message; the future resolves once it is written, or fails (OSError) once the websocket is closed.</summary>
    public void Send(PyObject data, bool text, PyObject future)
    {
        byte[] bytes;
        using (Py.GIL()) // pythonnet released it around this call into .NET
        {
            bytes = PythonAsgiExchange.CopyBytes(data);
        }

        Chain(async () =>
        {
            if (_socket.State != WebSocketState.Open && _socket.State != WebSocketState.CloseReceived)
            {
                throw new IOException("the websocket is closed");
            }

            await _socket.SendAsync(bytes, text ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, CancellationToken.None)
                .ConfigureAwait(false);
        }, future);
    }

    /// <summary>
    /// The fast path of websocket.send (Python's <c>ws_send</c>, GIL held), without a future: 0 when the message is
    /// written already (the usual case, a small message and a socket that takes it); 1 when it started and the app
    /// must await the request's write future, which <see cref="PythonAsgiLoop.Written"/> settles; 2 when others are
    /// queued before it and the app must call <see cref="Send"/>.
    /// </summary>
    internal int SendNow(ReadOnlySpan<byte> payload, bool text)
    {
        lock (_gate)
        {
            if (!_sends.IsCompleted || _socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
            {
                return 2;
            }

            // A copy: .NET may write it after this returns, and Python owns the bytes.
            var pending = _socket.SendAsync(payload.ToArray().AsMemory(), text ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, CancellationToken.None);
            if (pending.IsCompletedSuccessfully)
            {
                return 0;
            }

            // The app awaits the request's write future, which AfterSend settles (by id, through the C API).
            _sends = pending.AsTask().ContinueWith(
                static (sent, self) => ((PythonAsgiWebSocket)self!).AfterSend(sent), this,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return 1;
        }
    }

    /// <summary>Ends the app's wait for the send <see cref="SendNow"/> started: OSError once the websocket is gone.</summary>
    private void AfterSend(Task sent)
    {
        if (sent.IsCompletedSuccessfully)
        {
            _loop.Written(_id, WriteOutcome.Done);
            return;
        }

        var e = sent.Exception?.InnerException;
        if (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException || sent.IsCanceled)
        {
            _socket.Abort();
            _loop.Written(_id, WriteOutcome.Gone, ClientDisconnected);
        }
        else
        {
            _loop.Written(_id, WriteOutcome.Failed, e?.Message ?? "the send failed");
        }
    }

    /// <summary>websocket.close from the app: sends the close frame; the client's answer ends the pending receive.</summary>
    public void Close(int code, string reason, PyObject future) => Chain(() => SendCloseAsync(code, reason), future);

    /// <summary>The app's task ended: finish the closing handshake (bounded), then release the connection.</summary>
    internal async Task FinishAsync()
    {
        try
        {
            Close(1000, "");
            Task sends;
            lock (_gate)
            {
                sends = _sends;
            }

            await sends.ConfigureAwait(false);
            if (_socket.State == WebSocketState.CloseSent)
            {
                // Wait briefly for the client's close frame, so the TCP close is clean.
                using var cts = new CancellationTokenSource(CloseHandshakeTime);
                var buffer = ArrayPool<byte>.Shared.Rent(ReceiveBlock);
                try
                {
                    while ((await _socket.ReceiveAsync(buffer.AsMemory(), cts.Token).ConfigureAwait(false)).MessageType != WebSocketMessageType.Close)
                    {
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // Gone or silent: the connection is closed anyway.
        }
        finally
        {
            await _stopping.DisposeAsync().ConfigureAwait(false);
            _socket.Abort();
            _socket.Dispose();
        }
    }

    private void Close(int code, string reason) => Chain(() => SendCloseAsync(code, reason), null);

    private async Task SendCloseAsync(int code, string reason)
    {
        if (Interlocked.Exchange(ref _closeSent, 1) == 1
            || _socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }

        try
        {
            await _socket.CloseOutputAsync((WebSocketCloseStatus)code, reason.Length == 0 ? null : reason, CancellationToken.None)
                .ConfigureAwait(false);
        }
        catch (ArgumentException)
        {
            // A code or reason the protocol does not allow (999, 1006, a reason over 123 bytes) is refused before
            // anything is written: the close is still to be sent, so the app's error still closes with 1011.
            Volatile.Write(ref _closeSent, 0);
            throw;
        }
    }

    private void Chain(Func<Task> send, PyObject? future)
    {
        lock (_gate)
        {
            _sends = _sends.ContinueWith(async _ =>
            {
                try
                {
                    await send().ConfigureAwait(false);
                    if (future is not null)
                    {
                        _loop.Resolve(future, () => null);
                    }
                }
                catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
                {
                    _socket.Abort();
                    if (future is not null)
                    {
                        _loop.Fail(future, ClientDisconnected, disconnect: true);
                    }
                }
                catch (Exception e) when (e is ArgumentException)
                {
                    // A close code or reason the protocol does not allow: the app's mistake, raised in its send().
                    if (future is not null)
                    {
                        _loop.Fail(future, e.Message, disconnect: false);
                    }
                }
            }, TaskScheduler.Default).Unwrap();
        }
    }

    /// <summary>
    /// The slow path: awaits <paramref name="first"/> and the rest of the message. A null <paramref name="rented"/>
    /// means <paramref name="first"/> is the zero-byte wait for a frame; the block is rented once one has begun.
    /// </summary>
    private async Task ReceiveAsync(ValueTask<ValueWebSocketReceiveResult> first, byte[]? rented)
    {
        var max = _loop.Options.WsMaxSize;
        var block = rented;
        ArrayBufferWriter<byte>? message = null;
        var pending = first;
        try
        {
            while (true)
            {
                var result = await pending.ConfigureAwait(false);
                pending = default;
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    var code = (int?)_socket.CloseStatus ?? 1005;
                    // Answer the client's close with its own code (RFC 6455 5.5.1).
                    Chain(() => SendCloseAsync(code == 1005 ? 1000 : code, ""), null);
                    ResolveClose(code, _socket.CloseStatusDescription);
                    return;
                }

                var length = (message?.WrittenCount ?? 0) + result.Count;
                if (length > max)
                {
                    // RFC 6455 7.4.1: 1009, the message is too big to process.
                    Chain(() => SendCloseAsync(1009, ""), null);
                    ResolveClose(1009);
                    return;
                }

                if (block is null)
                {
                    if (result.EndOfMessage)
                    {
                        // An empty message, complete in its header.
                        _loop.Received(_id, Kind(result), ReadOnlyMemory<byte>.Empty, 0);
                        return;
                    }

                    block = ArrayPool<byte>.Shared.Rent(ReceiveBlock);
                    pending = _socket.ReceiveAsync(block.AsMemory(), CancellationToken.None);
                    continue;
                }

                if (result.EndOfMessage && message is null)
                {
                    var single = block;
                    block = null; // the loop returns it to the pool once Python has its copy
                    _loop.Received(_id, Kind(result), single.AsMemory(0, result.Count), 0, () => ArrayPool<byte>.Shared.Return(single));
                    return;
                }

                message ??= new ArrayBufferWriter<byte>(Math.Min(max, 64 * 1024));
                message.Write(block.AsSpan(0, result.Count));
                if (result.EndOfMessage)
                {
                    _loop.Received(_id, Kind(result), message.WrittenMemory, 0);
                    return;
                }

                pending = _socket.ReceiveAsync(block.AsMemory(), CancellationToken.None);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // Broken, reset, invalid framing or a ping unanswered: 1006, the connection closed abnormally.
            _socket.Abort();
            ResolveClose(1006);
        }
        catch (InvalidOperationException e)
        {
            // A second receive() while one is waiting: the app's mistake, raised in it.
            _loop.ReceiveFailed(_id, e.Message);
        }
        finally
        {
            if (block is not null)
            {
                ArrayPool<byte>.Shared.Return(block);
            }
        }
    }

    private static int Kind(ValueWebSocketReceiveResult result) => result.MessageType == WebSocketMessageType.Text ? 0 : 1;

    private void ResolveClose(int code, string? reason = null) =>
        _loop.Received(_id, 2, string.IsNullOrEmpty(reason) ? default : System.Text.Encoding.UTF8.GetBytes(reason), code);

    private static string? Header(WsgiRequest request, string name)
    {
        foreach (var (n, v) in request.Headers)
        {
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
            {
                return v.Trim();
            }
        }

        return null;
    }

    private static bool HasToken(string? value, string token) =>
        value is not null && value.Split(',').Any(t => t.Trim().Equals(token, StringComparison.OrdinalIgnoreCase));

    private static void CheckHeader(string name, string value)
    {
        if (name.Length == 0 || name.Any(c => c <= ' ' || c == ':' || c > '~') || value.Any(c => c is '\r' or '\n' or '\0'))
        {
            throw new InvalidResponseException($"invalid websocket.accept header: {name}");
        }
    }

    /// <summary>
    /// permessage-deflate (RFC 7692) when the client offers it: the first offer .NET can honour is taken, and the
    /// response header states the parameters both sides then use.
    /// </summary>
    private static WebSocketDeflateOptions? NegotiateDeflate(string? offers, out string? response)
    {
        response = null;
        if (offers is null)
        {
            return null;
        }

        foreach (var offer in offers.Split(','))
        {
            var parts = offer.Split(';', StringSplitOptions.TrimEntries);
            if (!parts[0].Equals("permessage-deflate", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var options = new WebSocketDeflateOptions();
            var answer = new StringBuilder("permessage-deflate");
            var usable = true;
            foreach (var p in parts.Skip(1))
            {
                var eq = p.IndexOf('=');
                var name = (eq < 0 ? p : p[..eq]).Trim().ToLowerInvariant();
                var value = eq < 0 ? null : p[(eq + 1)..].Trim().Trim('"');
                var bits = value is not null && int.TryParse(value, out var b) && b is >= 9 and <= 15 ? b : (int?)null;
                switch (name)
                {
                    case "server_no_context_takeover" when value is null:
                        options.ServerContextTakeover = false;
                        answer.Append("; server_no_context_takeover");
                        break;
                    case "client_no_context_takeover" when value is null:
                        options.ClientContextTakeover = false;
                        answer.Append("; client_no_context_takeover");
                        break;
                    case "server_max_window_bits" when bits is not null:
                        options.ServerMaxWindowBits = bits.Value;
                        answer.Append("; server_max_window_bits=").Append(bits.Value);
                        break;
                    case "client_max_window_bits" when value is null:
                        break; // the client may limit its window; it keeps the default 15
                    case "client_max_window_bits" when bits is not null:
                        options.ClientMaxWindowBits = bits.Value;
                        answer.Append("; client_max_window_bits=").Append(bits.Value);
                        break;
                    default:
                        usable = false;
                        break;
                }
            }

            if (usable)
            {
                response = answer.ToString();
                return options;
            }
        }

        return null;
    }
}
