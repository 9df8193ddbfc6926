using System.Buffers;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge.Tests.Support;

/// <summary>
/// A body wholly in memory but in several buffers, as an HTTP/1 body left in a connection's receive
/// buffers. Offers only the sequence: a bridge that took the one-span or per-read path would throw.
/// </summary>
public sealed class SegmentedBufferedBody(params byte[][] pieces) : RequestBody
{
    private readonly ReadOnlySequence<byte> _body = Build(pieces);

    public override long? Length => _body.Length;

    public override bool TryGetBufferedSequence(out ReadOnlySequence<byte> body)
    {
        body = _body;
        return true;
    }

    public override bool TryGetBuffered(out ReadOnlyMemory<byte> body) =>
        throw new InvalidOperationException("the bridge should copy a buffered body from its sequence");

    public override int Read(Span<byte> destination) =>
        throw new InvalidOperationException("the bridge should copy a buffered body from its sequence");

    private static ReadOnlySequence<byte> Build(byte[][] pieces)
    {
        var first = new Segment(pieces[0], 0);
        var last = first;
        foreach (var piece in pieces.Skip(1))
        {
            last = last.Append(piece);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
