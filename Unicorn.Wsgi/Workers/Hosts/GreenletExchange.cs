using System.Buffers;
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>
/// One request between its greenlet and the connection. The greenlet's calls return at once: body bytes are
/// copied into a queue that a thread-pool work item drains into the response sink, so a slow client holds a pool
/// thread (a socket's blocking send), never the hub; over HTTP/2 the drain awaits the stream's window instead
/// (<see cref="IResponseSink.BlockingWritesNeedThePool"/>: pool threads blocked on the windows starved Kestrel of
/// the threads that read the WINDOW_UPDATEs). Past <see cref="HighWater"/> queued bytes the greenlet is told to
/// wait; the drain wakes it through the hub's eventfd. Streamed body reads wait on async I/O.
/// </summary>
internal sealed class GreenletExchange(long id, WsgiRequest request, IResponseSink sink, GreenletExchange.Hub hub) : IGreenletRequest, IThreadPoolWorkItem
{
    /// <summary>Bytes a greenlet may have queued for a client before it waits for them to drain.</summary>
    internal const int HighWater = 256 * 1024;

    private readonly Queue<Op> _ops = new();
    private readonly TaskCompletionSource _completion = new();
    private bool _pumping;
    private long _pending;
    private bool _waiting;
    private volatile bool _gone;
    private bool _headersSent;
    private bool _ended;

    // A wait for more of a streamed body under way on the thread pool, and how it failed.
    private bool _reading;
    private Exception? _readFailure;

    private enum Kind
    {
        Data,
        File,
        Complete,
        Rest,
        Fail,
        Abort,
    }

    public long Id { get; } = id;

    public WsgiRequest Request { get; } = request;

    public bool HeadersSent => _headersSent;

    public Task Completion => _completion.Task;

    private IErrorLog Log => hub.Log;

    public void SetResponse(string status, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        // Safe on the hub thread: until the first body byte or the end is queued, no drain touches the sink.
        if (_headersSent)
        {
            throw new InvalidOperationException("headers already sent");
        }

        sink.SetResponse(status, headers);
    }

    public GreenletWrite Write(ReadOnlySpan<byte> data)
    {
        if (_gone)
        {
            return GreenletWrite.ClientGone;
        }

        if (data.IsEmpty)
        {
            return GreenletWrite.Accepted;
        }

        _headersSent = true;
        var buffer = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(buffer);
        bool wait;
        lock (_ops)
        {
            _ops.Enqueue(new Op(Kind.Data, buffer, data.Length));
            _pending += data.Length;
            wait = _waiting = _pending > HighWater;
            StartPumpLocked();
        }

        return wait ? GreenletWrite.Wait : GreenletWrite.Accepted;
    }

    public GreenletWrite SendFile(SafeFileHandle file, long offset, long count)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (_gone || count <= 0)
        {
            file.Dispose();
            return _gone ? GreenletWrite.ClientGone : GreenletWrite.Accepted;
        }

        _headersSent = true;
        bool wait;
        lock (_ops)
        {
            // Counted as queued bytes: a large file makes its greenlet wait until most of it has gone.
            _ops.Enqueue(new Op(Kind.File, null, 0, File: file, Offset: offset, Count: count));
            _pending += count;
            wait = _waiting = _pending > HighWater;
            StartPumpLocked();
        }

        return wait ? GreenletWrite.Wait : GreenletWrite.Accepted;
    }

    /// <summary>
    /// Body bytes straight into <paramref name="destination"/> (the Python bytes object: their one copy), 0 at the
    /// end, or -1 when none have arrived yet: a thread-pool wait for them then wakes the greenlet.
    /// </summary>
    public int TryRead(Span<byte> destination)
    {
        lock (_ops)
        {
            if (_readFailure is { } failure)
            {
                throw new IOException(failure.Message, failure);
            }

            if (_reading)
            {
                return -1;
            }

            int n;
            try
            {
                n = Request.Body.TryReadNow(destination);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Bad chunked framing or a client gone, met without waiting: kept for Fail as a failure met by the
                // wait is (below), so an app that lets it propagate is the client's 400 or a debug line, not a
                // logged 500.
                _readFailure = e;
                throw new IOException(e.Message, e);
            }

            if (n < 0)
            {
                _reading = true;
                _ = WaitForBodyAsync();
            }

            return n;
        }
    }

    public GreenletWrite Respond(ReadOnlySpan<byte> body)
    {
        if (_gone)
        {
            return GreenletWrite.ClientGone;
        }

        ImmediateResponse sent;
        try
        {
            sent = sink.TryCompleteNow(body);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            WriteFailed(e);
            return GreenletWrite.ClientGone;
        }

        switch (sent)
        {
            case ImmediateResponse.Sent:
                // All of it went without waiting: finish here, no drain and so no thread-pool hand-off.
                lock (_ops)
                {
                    _ended = true;
                    _headersSent = true;
                }

                hub.Finished(Id);
                _completion.TrySetResult();
                return GreenletWrite.Accepted;
            case ImmediateResponse.Buffered:
                // The socket is full: the drain sends the rest with the sink's blocking writes, off the hub.
                _headersSent = true;
                End(Kind.Rest);
                return GreenletWrite.Accepted;
            default:
                var outcome = Write(body);
                if (outcome != GreenletWrite.ClientGone)
                {
                    Complete();
                }

                return outcome;
        }
    }

    public void Complete() => End(Kind.Complete);

    public void Fail(string message, string traceback)
    {
        switch (_readFailure)
        {
            case RequestBodyTimeoutException slow:
                Log.Info(slow.LogLine(Request.RemoteEndPoint?.Address.ToString() ?? "unix"));
                End(Kind.Abort);
                return;
            case IOException e:
                Log.Debug($"Ignored premature client disconnection. {e.Message}");
                End(Kind.Abort);
                return;
            case { } rejection:
                // Bad chunked framing: the connection answers it as any bad request, as with the threaded host.
                End(Kind.Abort, rejection);
                return;
        }

        if (_gone)
        {
            End(Kind.Abort);
            return;
        }

        if (traceback.Length == 0)
        {
            Log.Error(message);
        }
        else
        {
            // Called in the greenlet's except block (the exception is live), with Gunicorn's message for a failed request.
            Log.Exception(message, traceback, "Error handling request %s %s", Request.Method, Request.RawUri);
        }

        End(Kind.Fail);
    }

    public void Abort() => End(Kind.Abort);

    private void End(Kind kind, Exception? fault = null)
    {
        lock (_ops)
        {
            if (_ended)
            {
                return;
            }

            _ended = true;
            _headersSent = true;
            _ops.Enqueue(new Op(kind, null, 0, fault));
            StartPumpLocked();
        }
    }

    private void StartPumpLocked()
    {
        if (!_pumping)
        {
            _pumping = true;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    /// <summary>The drain, started on a pool thread.</summary>
    void IThreadPoolWorkItem.Execute() => _ = DrainAsync();

    private async Task DrainAsync()
    {
        while (true)
        {
            Op op;
            bool more;
            lock (_ops)
            {
                if (!_ops.TryDequeue(out op))
                {
                    _pumping = false;
                    return;
                }

                more = _ops.Count > 0;
            }

            if (op.Kind == Kind.Data)
            {
                await SendDataAsync(op, flush: !more).ConfigureAwait(false);
                continue;
            }

            if (op.Kind == Kind.File)
            {
                await SendFileOpAsync(op).ConfigureAwait(false);
                continue;
            }

            await FinishAsync(op).ConfigureAwait(false);
            return;
        }
    }

    private async Task SendDataAsync(Op op, bool flush)
    {
        try
        {
            if (!_gone && sink.BlockingWritesNeedThePool)
            {
                await sink.WriteAsync(op.Buffer.AsSpan(0, op.Length), complete: false).ConfigureAwait(false);
            }
            else if (!_gone)
            {
                sink.Write(op.Buffer.AsSpan(0, op.Length));
                if (flush)
                {
                    sink.Flush();
                }
            }
        }
        catch (Exception e)
        {
            WriteFailed(e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(op.Buffer!);
        }

        Drained(op.Length);
    }

    // A write that failed: the client is gone from now on; anything but the socket's IOException is logged with the
    // request, in one line. Nothing escapes the drain, an OutOfMemoryException under worker_heap_limit included: a
    // drain that died would leave its greenlet waiting and its connection open for good. As the threaded host ends
    // a response whose sink failed: the line, the iterable closed, the connection aborted, the worker serving on.
    private void WriteFailed(Exception e)
    {
        if (e is not IOException)
        {
            Log.Error($"Error handling request {Request.Method} {Request.RawUri}: {e.GetType().Name}: {e.Message}");
        }

        _gone = true;
    }

    // sendfile(2) through the sink, as the threaded host sends a file; a connection that cannot (TLS, HTTP/2) gets pread blocks.
    private async Task SendFileOpAsync(Op op)
    {
        var file = op.File!;
        try
        {
            if (!_gone && !sink.TrySendFile(file, op.Offset, op.Count))
            {
                await CopyFileAsync(file, op.Offset, op.Count).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            WriteFailed(e);
        }
        finally
        {
            file.Dispose();
        }

        Drained(op.Count);
    }

    private async Task CopyFileAsync(SafeFileHandle file, long offset, long count)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (count > 0 && !_gone)
            {
                var n = RandomAccess.Read(file, buffer.AsSpan(0, (int)Math.Min(buffer.Length, count)), offset);
                if (n == 0)
                {
                    break; // the file shrank
                }

                if (sink.BlockingWritesNeedThePool)
                {
                    await sink.WriteAsync(buffer.AsSpan(0, n), complete: false).ConfigureAwait(false);
                }
                else
                {
                    sink.Write(buffer.AsSpan(0, n));
                }

                offset += n;
                count -= n;
            }

            if (!sink.BlockingWritesNeedThePool)
            {
                sink.Flush();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Drained(long bytes)
    {
        bool wake;
        lock (_ops)
        {
            _pending -= bytes;
            wake = _waiting && (_pending <= HighWater / 2 || _gone);
            if (wake)
            {
                _waiting = false;
            }
        }

        if (wake)
        {
            hub.Ready(Id);
        }
    }

    private async Task FinishAsync(Op op)
    {
        try
        {
            switch (op.Kind)
            {
                case Kind.Complete when !_gone && sink.BlockingWritesNeedThePool:
                    await sink.WriteAsync([], complete: true).ConfigureAwait(false);
                    break;
                case Kind.Complete when !_gone:
                    sink.Complete();
                    break;
                case Kind.Rest when !_gone:
                    sink.Flush(); // the end is already framed: what the socket did not take at once
                    break;
                case Kind.Fail when !_gone && !sink.HeadersSent:
                    SendErrorPage();
                    break;
                default:
                    sink.Abort();
                    break;
            }
        }
        catch (Exception e) when (e is IOException or InvalidResponseException or InvalidOperationException)
        {
            AbortQuietly();
        }
        catch (Exception e)
        {
            WriteFailed(e);
            AbortQuietly();
        }

        hub.Finished(Id);
        // The connection continues here, on this pool thread, up to its next await.
        if (op.Fault is { } fault)
        {
            _completion.TrySetException(fault);
        }
        else
        {
            _completion.TrySetResult();
        }
    }

    private void SendErrorPage()
    {
        sink.SetResponse("500 Internal Server Error",
        [
            new("Content-Type", "text/html"),
            new("Content-Length", InternalErrorPage.Body.Length.ToString(CultureInfo.InvariantCulture)),
        ]);
        sink.Write(InternalErrorPage.Body);
        sink.Complete();
    }

    private void AbortQuietly()
    {
        try
        {
            sink.Abort();
        }
        catch (Exception)
        {
            // The connection is being torn down anyway.
        }
    }

    // On async I/O: over HTTP/2 the body's bytes reach the pipe only as Kestrel's pool work reads them.
    private async Task WaitForBodyAsync()
    {
        await Task.Yield(); // off the hub's thread before anything can wait
        try
        {
            await Request.Body.WaitForDataAsync().ConfigureAwait(false);
            lock (_ops)
            {
                _reading = false;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            lock (_ops)
            {
                _readFailure = e;
                _reading = false;
            }
        }

        hub.Ready(Id);
    }

    /// <summary>What an exchange tells its host: a greenlet may stop waiting; a request has ended. Cached once per host.</summary>
    internal sealed record Hub(Action<long> Ready, Action<long> Finished, IErrorLog Log);

    private readonly record struct Op(Kind Kind, byte[]? Buffer, int Length, Exception? Fault = null,
        SafeFileHandle? File = null, long Offset = 0, long Count = 0);
}
