using System.Buffers;

namespace Unicorn.Wsgi.Application;

/// <summary>
/// The body of one request as wsgi.input sees it: already-decoded bytes (chunked framing removed),
/// read with blocking calls from the app thread. The bridge releases the GIL around <see cref="Read"/>.
/// </summary>
public abstract class RequestBody
{
    public static RequestBody Empty { get; } = new BufferedRequestBody(ReadOnlyMemory<byte>.Empty);

    /// <summary>The Content-Length, or null when the length is unknown (chunked).</summary>
    public abstract long? Length { get; }

    /// <summary>
    /// When the whole body is already in memory, the bytes; lets the bridge build wsgi.input from one
    /// copy without any per-read call back into C#.
    /// </summary>
    public abstract bool TryGetBuffered(out ReadOnlyMemory<byte> body);

    /// <summary>
    /// As <see cref="TryGetBuffered"/>, but the bytes may lie in several buffers (an HTTP/1 body left in the
    /// connection's receive buffers): the bridge copies each straight into the Python bytes object.
    /// </summary>
    public virtual bool TryGetBufferedSequence(out ReadOnlySequence<byte> body)
    {
        var buffered = TryGetBuffered(out var memory);
        body = buffered ? new ReadOnlySequence<byte>(memory) : default;
        return buffered;
    }

    /// <summary>
    /// When the whole body was read before the app ran but its bytes are not laid out as themselves (a chunked body
    /// left in its framing in the connection's receive buffers): its length, for the bridge to make the Python bytes
    /// object that size and fill it with <see cref="CopyHeldTo"/>, the body's only copy. False for other bodies.
    /// </summary>
    public virtual bool TryGetHeldLength(out int length)
    {
        length = 0;
        return false;
    }

    /// <summary>Writes the whole body that <see cref="TryGetHeldLength"/> measured into <paramref name="destination"/>, its size.</summary>
    public virtual void CopyHeldTo(Span<byte> destination) => throw new NotSupportedException();

    /// <summary>Reads up to destination.Length bytes; 0 means end of body. Blocks until data arrives.</summary>
    /// <exception cref="IOException">the client went away or sent malformed body framing.</exception>
    public abstract int Read(Span<byte> destination);

    /// <summary>
    /// As <see cref="Read"/>, but the wait for the client's bytes is on async I/O and holds no thread (the ASGI
    /// host's path: over HTTP/2 those bytes reach the pipe only as Kestrel's thread-pool work reads them, so
    /// pool threads blocked on the pipe starve it). The default runs <see cref="Read"/>.
    /// </summary>
    /// <exception cref="IOException">the client went away or sent malformed body framing.</exception>
    public virtual ValueTask<int> ReadAsync(Memory<byte> destination) => ValueTask.FromResult(Read(destination.Span));

    /// <summary>
    /// As <see cref="Read"/>, but never waits: -1 when no body bytes have arrived yet (then
    /// <see cref="WaitForData"/>, off the caller's thread). For a greenlet hub, which must not block.
    /// </summary>
    public virtual int TryReadNow(Span<byte> destination) => Read(destination);

    /// <summary>Blocks, bounded by the read timeout, until <see cref="TryReadNow"/> has something new to return.</summary>
    /// <exception cref="IOException">the client went away, or sent nothing within the read timeout.</exception>
    public virtual void WaitForData()
    {
    }

    /// <summary>As <see cref="WaitForData"/>, waiting on async I/O rather than a thread (see <see cref="ReadAsync"/>).</summary>
    /// <exception cref="IOException">the client went away, or sent nothing within the read timeout.</exception>
    public virtual ValueTask WaitForDataAsync()
    {
        WaitForData();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A body that was read completely before the app was called.</summary>
public sealed class BufferedRequestBody(ReadOnlyMemory<byte> body) : RequestBody
{
    private int _position;

    public override long? Length => body.Length;

    public override bool TryGetBuffered(out ReadOnlyMemory<byte> buffered)
    {
        buffered = body;
        return true;
    }

    public override int Read(Span<byte> destination)
    {
        var n = Math.Min(destination.Length, body.Length - _position);
        body.Span.Slice(_position, n).CopyTo(destination);
        _position += n;
        return n;
    }
}
