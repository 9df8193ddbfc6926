using System.Buffers;
using System.Net.Sockets;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Transport.Tls;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// The per-connection request loop HTTP/1 (<see cref="HttpConnection"/>) and uwsgi (<see cref="UwsgiConnection"/>)
/// share: wait for a request's frame (timeout before the first, keepalive after; once a byte arrives the whole
/// frame within timeout), serve it, loop while the response keeps the connection; hold a body up to
/// <see cref="WorkerOptions.BufferedBodyLimit"/> in the receive buffers until the app is done; answer the
/// protocol's rejection, log anything else in one line, and close lingering when a body was left unread. The
/// protocol parses its frame, serves the request and words its rejection. Not generic over the rejection's type:
/// a shared generic class would look its async state machines up at run time on every request.
/// </summary>
internal abstract class RequestConnection : IClientConnection
{
    /// <summary>How long a lingering close may last in all, and without a byte from the client.</summary>
    internal static readonly TimeSpan LingerTime = TimeSpan.FromSeconds(5);
    internal static readonly TimeSpan LingerIdle = TimeSpan.FromSeconds(2);

    protected readonly ConnectionContext _connection;
    protected readonly WorkerContext _worker;
    private bool _firstRequest = true;
    // A body the app reads from the receive buffers, and where the reader resumes once the app is done.
    private HeldRequestBody? _heldBody;
    private SequencePosition _heldBodyEnd;

    protected RequestConnection(ConnectionContext connection, WorkerContext worker)
    {
        _connection = connection;
        _worker = worker;
    }

    /// <summary>Bytes the client sent are still unread when the connection ends: close lingering.</summary>
    protected bool InputLeftUnread { get; set; }

    protected string RemoteText => _connection.RemoteText;

    public async Task<bool> WaitUntilClosedAsync(CancellationToken token)
    {
        if (_connection.Socket is not { } socket)
        {
            return false;
        }

        try
        {
            // A zero-byte receive waits until the socket is readable and takes nothing; then no byte to read on a
            // readable socket is its end (FIN), and bytes mean the client is still there, or cannot be told from it.
            await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, token).ConfigureAwait(false);
            return socket.Available == 0 && socket.Poll(0, SelectMode.SelectRead);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            return false;
        }
    }

    /// <summary>Serves requests until the connection is done; the pipeline then closes it.</summary>
    public async Task RunAsync()
    {
        try
        {
            // A graceful stop does not cut a connection short: an idle one keeps waiting for keepalive (a second at
            // least) after the stop began, so a request its client sends as the stop begins is answered (with
            // Connection: close) rather than reset, as Gunicorn's gthread worker does; one still silent then is closed
            // (IdleConnections.CloseAfterStop).
            Admit();
            while (await ReadFrameAsync() && await ServeRequestAsync())
            {
                _firstRequest = false;
            }
        }
        catch (Exception e) when (IsRejection(e))
        {
            await RejectAsync(e);
        }
        catch (RequestBodyTimeoutException e)
        {
            // As Gunicorn, nothing is answered: the connection is closed. One line, never a stack trace.
            _worker.Log.Info(e.LogLine(RemoteText));
        }
        catch (IOException e) when (TlsRecordFailure.Reason(e) is { } why)
        {
            // A TLS record that does not decrypt is garbage from the client, not a client gone: one line, as
            // Gunicorn logs it (and a refused handshake) as a bad request. Nothing can be answered on it.
            _worker.Log.Warning($"Invalid request from ip={RemoteText}: {why}");
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or a timeout fired: nothing to answer.
        }
        catch (OutOfMemoryException e)
        {
            // No bug of ours (a buffer that could not grow under worker_heap_limit): one line, no .NET stack trace.
            _worker.Log.Error($"Error handling request from {RemoteText}: {e.GetType().Name}: {e.Message}");
        }
        catch (Exception e)
        {
            _worker.Log.Error($"Error handling request from {RemoteText}: {e}");
        }
        finally
        {
            ReturnBody();
            if (InputLeftUnread && _connection.Socket is { } socket)
            {
                await LingerAsync(socket);
            }

            Closed();
        }
    }

    /// <summary>Before anything is read: throws the protocol's rejection to refuse the peer.</summary>
    protected virtual void Admit()
    {
    }

    /// <summary>Before each frame is read (the protocol's per-request state is reset here).</summary>
    protected virtual void StartFrame()
    {
    }

    /// <summary>Parses one frame (a request head, a uwsgi packet) from the start of <paramref name="buffer"/>.</summary>
    protected abstract bool TryParseFrame(ReadOnlySequence<byte> buffer, out SequencePosition consumed);

    /// <summary>The rejection for a connection that closed in the middle of a frame.</summary>
    protected abstract Exception Truncated(long length);

    /// <summary>Runs the request just read through the app. False: close the connection afterwards.</summary>
    protected abstract Task<bool> ServeRequestAsync();

    /// <summary>Whether <paramref name="e"/> is this protocol's rejection (a bad or refused frame).</summary>
    protected abstract bool IsRejection(Exception e);

    /// <summary>Answers a rejection (or says nothing for a frame cut short); the connection then closes.</summary>
    protected abstract Task RejectAsync(Exception e);

    /// <summary>After the connection's last request has completed and any lingering is over.</summary>
    protected virtual void Closed()
    {
    }

    /// <summary>
    /// Reads until one frame has been parsed. False: the connection is done. Waiting for a frame's first byte is
    /// bounded by keepalive (timeout before the first request: a PROXY header already started its clock) and may
    /// be cut short when the worker needs the slot; once bytes arrive, the whole frame must follow within
    /// timeout, so a client trickling bytes cannot hold the connection forever.
    /// </summary>
    private async Task<bool> ReadFrameAsync()
    {
        StartFrame();
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

            if (TryParseFrame(buffer, out var consumed))
            {
                reader.AdvanceTo(consumed);
                _connection.EndFrame();
                return true;
            }

            if (read.IsCompleted)
            {
                throw Truncated(buffer.Length);
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>
    /// A body of <paramref name="size"/> bytes: read before the app runs when it is small enough, so a slow
    /// uploader costs no Python thread; a larger one streams to the app from where this stopped.
    /// </summary>
    protected async Task<RequestBody> ReadSizedBodyAsync(long size)
    {
        if (size <= 0)
        {
            return RequestBody.Empty;
        }

        var reader = _connection.Input;
        if (size > WorkerOptions.BufferedBodyLimit)
        {
            return new PipeRequestBody(reader, size, null, ReadOnlyMemory<byte>.Empty, _worker.Options.ReadTimeout, _worker.Options.MinBodyRate);
        }

        // Nothing of the body is consumed until the app is done, so the buffer's length is what has arrived (and
        // these reads follow one another: the time since the first is the time spent waiting).
        var rate = _worker.Options.MinBodyRate;
        var started = Environment.TickCount64;
        long received = 0;
        while (true)
        {
            var (wait, byRate) = rate.NextWait(received, Environment.TickCount64 - started, _worker.Options.ReadTimeout);
            var read = await _connection.ReadAsync(wait) ?? throw rate.Failure(byRate);
            var buffer = read.Buffer;
            received = buffer.Length;
            if (buffer.Length >= size)
            {
                // Left in the receive buffers until the app is done (ReturnBody): the bridge copies it
                // from there into the Python bytes object, its only copy in user space. Nothing reads
                // this connection while its app runs, except an upgrade, which releases it first.
                _heldBodyEnd = buffer.GetPosition(size);
                _heldBody = new SequenceRequestBody(buffer.Slice(0, _heldBodyEnd));
                return _heldBody;
            }

            if (read.IsCompleted)
            {
                throw new IOException("client closed the connection before sending the whole body");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>A body the app reads from the receive buffers up to <paramref name="end"/>; the reader resumes there once it is done.</summary>
    protected void HoldBody(HeldRequestBody body, SequencePosition end)
    {
        _heldBody = body;
        _heldBodyEnd = end;
    }

    /// <summary>The app is done with the body (or has its own copy of it): the reader may move past it.</summary>
    protected void ReturnBody()
    {
        if (_heldBody is { } held)
        {
            _heldBody = null;
            held.Release();
            _connection.Input.AdvanceTo(_heldBodyEnd);
        }
    }

    /// <summary>
    /// The response has gone out but the client is still sending a body nobody read. Closing now would send
    /// RST (unread bytes in the receive queue), and a client still sending would see its upload fail and lose
    /// the response. As nginx's lingering close: stop sending (FIN after the response), then read and drop
    /// until the client closes, bounded by <see cref="LingerTime"/> in all and <see cref="LingerIdle"/> between
    /// reads, so a client that keeps sending cannot hold the connection.
    /// </summary>
    private static async Task LingerAsync(Socket socket)
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
}
