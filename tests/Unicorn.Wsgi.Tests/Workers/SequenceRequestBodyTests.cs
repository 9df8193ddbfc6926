using System.Buffers;
using Unicorn.Wsgi.Tests.Http;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>A body left in several receive buffers reads the same whichever way a host asks for it.</summary>
public class SequenceRequestBodyTests
{
    private static readonly byte[] Bytes = Enumerable.Range(0, 20_000).Select(i => (byte)(i * 7 % 251)).ToArray();

    private static SequenceRequestBody Body()
    {
        var input = new SegmentedInput();
        foreach (var (start, end) in new[] { (0, 8192), (8192, 8193), (8193, 16384), (16384, 20_000) })
        {
            input.Append(Bytes.AsSpan(start, end - start));
        }

        return new SequenceRequestBody(input.ToSequence());
    }

    [Fact]
    public void The_sequence_is_the_buffers_themselves()
    {
        var body = Body();
        Assert.True(body.TryGetBufferedSequence(out var sequence));
        Assert.False(sequence.IsSingleSegment);
        Assert.Equal(Bytes, sequence.ToArray());
        Assert.Equal(Bytes.Length, body.Length);
    }

    [Fact]
    public void One_span_for_hosts_that_need_it_holds_the_same_bytes()
    {
        var body = Body();
        Assert.True(body.TryGetBuffered(out var memory));
        Assert.Equal(Bytes, memory.ToArray());
        body.Release();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4096)]
    [InlineData(8191)]
    [InlineData(65536)]
    public void Reads_in_pieces_across_buffer_boundaries(int size)
    {
        var body = Body();
        var read = new List<byte>();
        var buffer = new byte[size];
        int n;
        while ((n = body.Read(buffer)) > 0)
        {
            read.AddRange(buffer.AsSpan(0, n).ToArray());
        }

        Assert.Equal(Bytes, read.ToArray());
        Assert.Equal(0, body.Read(buffer));
    }
}
