using System.IO.Pipelines;
using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// A body too large to buffer, read by the app thread from a pipe with blocking reads (the bridge has
/// released the GIL), each wait bounded by the read timeout and by <c>min_request_body_rate</c>, counted over the
/// time spent waiting for the client only: while the app is not reading, the client is not kept waiting (Kestrel
/// likewise pauses its rate timer when no read is pending). What was read before the app started (the prefix) comes
/// first; each protocol says how the pipe's bytes become body bytes.
/// </summary>
internal abstract class StreamedRequestBody(PipeReader reader, ReadOnlyMemory<byte> prefix, TimeSpan timeout, MinBodyDataRate rate = default)
    : RequestBody
{
    private ReadOnlyMemory<byte> _prefix = prefix;

    // For min_request_body_rate: body bytes handed to the app, and the milliseconds spent waiting for the client.
    private long _received;
    private long _waited;

    // Bounds the wait in progress; reset after each wait rather than made (with a timer) per wait.
    private CancellationTokenSource? _waitTimeout;

    // Set while TryReadNow runs: a read that would wait throws BodyWouldBlockException instead.
    private bool _noWait;

    // WaitForData saw the pipe end. A stream reader's TryRead returns nothing once it has nothing buffered, even
    // at the end, so the next read must ask ReadAsync, which answers at once, rather than wait again forever.
    private bool _pipeEnded;

    protected PipeReader Reader => reader;

    /// <summary>Whether the pipe holds no more of the body.</summary>
    protected bool Done { get; set; }

    /// <summary>Whether the whole body has been read (nothing of it is left in the pipe).</summary>
    public bool IsComplete => Done && _prefix.IsEmpty;

    public sealed override bool TryGetBuffered(out ReadOnlyMemory<byte> body)
    {
        body = default;
        return false;
    }

    public sealed override int Read(Span<byte> destination)
    {
        if (destination.IsEmpty)
        {
            return 0;
        }

        if (!_prefix.IsEmpty)
        {
            var n = Math.Min(destination.Length, _prefix.Length);
            _prefix.Span[..n].CopyTo(destination);
            _prefix = _prefix[n..];
            _received += n;
            return n;
        }

        if (Done)
        {
            return 0;
        }

        var read = ReadFromPipe(destination);
        _received += read;
        return read;
    }

    public sealed override int TryReadNow(Span<byte> destination)
    {
        _noWait = true;
        try
        {
            return Read(destination);
        }
        catch (BodyWouldBlockException)
        {
            return -1;
        }
        finally
        {
            _noWait = false;
        }
    }

    public sealed override async ValueTask<int> ReadAsync(Memory<byte> destination)
    {
        if (!destination.IsEmpty && _prefix.IsEmpty && !Done)
        {
            await WaitForDataAsync().ConfigureAwait(false);
        }

        return Read(destination.Span);
    }

    public sealed override async ValueTask WaitForDataAsync()
    {
        // Waits for the pipe here, then leaves what arrived unconsumed and unexamined: Read takes it at once.
        if (!reader.TryRead(out var read))
        {
            var (wait, byRate) = rate.NextWait(_received, _waited, timeout);
            var cts = StartWait(wait);
            var started = Environment.TickCount64;
            try
            {
                read = await reader.ReadAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                throw rate.Failure(byRate);
            }
            finally
            {
                EndWait(cts, started);
            }
        }

        _pipeEnded |= read.IsCompleted;
        reader.AdvanceTo(read.Buffer.Start);
    }

    public sealed override void WaitForData()
    {
        // Leaves what arrived unconsumed and unexamined, so the next TryReadNow's TryRead returns it at once.
        var read = ReadBlocking();
        _pipeEnded |= read.IsCompleted;
        reader.AdvanceTo(read.Buffer.Start);
    }

    /// <summary>Copies the next body bytes from the pipe (at least one, or 0 at the end), setting <see cref="Done"/>.</summary>
    protected abstract int ReadFromPipe(Span<byte> destination);

    protected ReadResult ReadBlocking()
    {
        if (reader.TryRead(out var ready))
        {
            return ready;
        }

        if (_noWait && !_pipeEnded)
        {
            throw BodyWouldBlockException.Instance;
        }

        var (wait, byRate) = rate.NextWait(_received, _waited, timeout);
        var cts = StartWait(wait);
        var started = Environment.TickCount64;
        try
        {
            return reader.ReadAsync(cts.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            throw rate.Failure(byRate);
        }
        finally
        {
            EndWait(cts, started);
        }
    }

    private CancellationTokenSource StartWait(TimeSpan wait)
    {
        var cts = _waitTimeout ??= new CancellationTokenSource();
        cts.CancelAfter(wait);
        return cts;
    }

    private void EndWait(CancellationTokenSource cts, long started)
    {
        _waited += Environment.TickCount64 - started;
        if (!cts.TryReset())
        {
            cts.Dispose();
            _waitTimeout = null;
        }
    }
}
