using System.Buffers;
using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// An HTTP/1 or uwsgi body read completely before the app ran and left where it arrived, in the connection's
/// receive buffers: the bridge copies it once, from there into the Python bytes object, instead of first
/// into an array of its own. Valid until the connection advances past it, after the app is done.
/// </summary>
internal sealed class SequenceRequestBody(ReadOnlySequence<byte> body) : HeldRequestBody
{
    private long _position;

    // Only for callers that need the body in one span (the ASGI bridge) when it spans several buffers.
    private byte[]? _contiguous;

    public override long? Length => body.Length;

    public override bool TryGetBufferedSequence(out ReadOnlySequence<byte> buffered)
    {
        buffered = body;
        return true;
    }

    public override bool TryGetBuffered(out ReadOnlyMemory<byte> buffered)
    {
        if (body.IsSingleSegment)
        {
            buffered = body.First;
            return true;
        }

        if (_contiguous is null)
        {
            _contiguous = ArrayPool<byte>.Shared.Rent((int)body.Length);
            body.CopyTo(_contiguous);
        }

        buffered = _contiguous.AsMemory(0, (int)body.Length);
        return true;
    }

    public override int Read(Span<byte> destination)
    {
        var n = (int)Math.Min(destination.Length, body.Length - _position);
        body.Slice(_position, n).CopyTo(destination);
        _position += n;
        return n;
    }

    /// <summary>The request is done: gives back what <see cref="TryGetBuffered"/> rented.</summary>
    public override void Release()
    {
        if (_contiguous is { } rented)
        {
            _contiguous = null;
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
