using System.Buffers;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// A chunked HTTP/1 body read completely before the app ran and left in its framing where it arrived, in the
/// connection's receive buffers: the bridge decodes it once, straight into the Python bytes object
/// (<see cref="CopyHeldTo"/>), rather than into an array that grows with the body. Valid until
/// <see cref="Release"/>, after the app is done, as <see cref="SequenceRequestBody"/>.
/// </summary>
internal sealed class FramedRequestBody(ReadOnlySequence<byte> framed, int length, HttpParserOptions options) : HeldRequestBody
{
    private readonly ChunkedBodyDecoder _decoder = new(options);
    private ReadOnlySequence<byte> _framed = framed;
    private ReadOnlySequence<byte> _unread = framed;

    public override long? Length => length;

    public override bool TryGetBuffered(out ReadOnlyMemory<byte> body)
    {
        body = default;
        return false;
    }

    public override bool TryGetHeldLength(out int held)
    {
        held = length;
        return true;
    }

    public override void CopyHeldTo(Span<byte> destination)
    {
        // Its own decoder, from the start: the framing was checked when the body was measured, so this cannot fail.
        var reader = new SequenceReader<byte>(_framed);
        var written = new ChunkedBodyDecoder(options).Decode(ref reader, destination[..length]);
        if (written != length)
        {
            throw new InvalidOperationException($"chunked body decoded to {written} bytes, measured {length}");
        }
    }

    public override int Read(Span<byte> destination)
    {
        if (destination.IsEmpty || _decoder.IsComplete)
        {
            return 0;
        }

        var (written, consumed) = HttpConnection.Decode(_decoder, _unread, destination);
        _unread = _unread.Slice(consumed);
        return written;
    }

    public override void Release()
    {
        _framed = default;
        _unread = default;
    }
}
