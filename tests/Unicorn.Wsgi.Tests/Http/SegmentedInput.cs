using System.Buffers;

namespace Unicorn.Wsgi.Tests.Http;

/// <summary>
/// Unconsumed bytes kept as the pieces they arrived in, so the parser sees multi-segment sequences with
/// segment boundaries exactly where the network split the request (as a Pipe would give it).
/// </summary>
internal sealed class SegmentedInput
{
    private const int MaxSegments = 64;
    private readonly List<byte[]> _pieces = [];
    private int _offset;    // consumed bytes of _pieces[0]

    public long Length { get; private set; }

    public void Append(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }
        _pieces.Add(data.ToArray());
        Length += data.Length;
        if (_pieces.Count > MaxSegments)
        {
            // Bound the cost of byte-by-byte feeding: merge what is pending into one piece.
            var merged = ToSequence().ToArray();
            _pieces.Clear();
            _offset = 0;
            _pieces.Add(merged);
        }
    }

    public ReadOnlySequence<byte> ToSequence()
    {
        if (_pieces.Count == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }
        if (_pieces.Count == 1)
        {
            return new ReadOnlySequence<byte>(_pieces[0], _offset, _pieces[0].Length - _offset);
        }
        var first = new Segment(_pieces[0].AsMemory(_offset), 0);
        var last = first;
        for (var i = 1; i < _pieces.Count; i++)
        {
            last = last.Append(_pieces[i]);
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    public void Consume(long count)
    {
        Length -= count;
        while (count > 0)
        {
            var available = _pieces[0].Length - _offset;
            if (count < available)
            {
                _offset += (int)count;
                return;
            }
            count -= available;
            _pieces.RemoveAt(0);
            _offset = 0;
        }
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
