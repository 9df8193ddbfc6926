using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// A chunked HTTP/1 body is measured in the receive buffers before the app runs: up to 1 MiB it stays there and is
/// decoded once, into the destination the bridge gives; past that it streams from its first byte. No array grows
/// with the body (it used to double up to 2 MiB per request, each a large-object-heap array for a full collection).
/// </summary>
public class ChunkedBodyReadTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly byte[] Bytes = Enumerable.Range(0, 3 << 20).Select(i => (byte)(i * 7 % 251)).ToArray();

    private static byte[] Framed(int length, int chunk)
    {
        var framed = new MemoryStream();
        for (var i = 0; i < length; i += chunk)
        {
            var n = Math.Min(chunk, length - i);
            framed.Write(Encoding.ASCII.GetBytes($"{n:x}\r\n"));
            framed.Write(Bytes, i, n);
            framed.Write("\r\n"u8);
        }

        framed.Write("0\r\n\r\n"u8);
        return framed.ToArray();
    }

    private static async ValueTask<ReadResult?> ReadOnce(PipeReader reader) => await reader.ReadAsync();

    private static Task<(RequestBody Body, SequencePosition End)> Read(PipeReader input) =>
        HttpConnection.ReadChunkedAsync(input, (_, _) => ReadOnce(input), HttpParserOptions.Default, Timeout);

    private static PipeReader Over(byte[] wire, MemoryPool<byte>? pool = null) =>
        PipeReader.Create(new MemoryStream(wire), new StreamPipeReaderOptions(pool: pool, bufferSize: 8192, minimumReadSize: 2048));

    private static byte[] ReadAll(RequestBody body, int piece)
    {
        var read = new MemoryStream();
        var buffer = new byte[piece];
        int n;
        while ((n = body.Read(buffer)) > 0)
        {
            read.Write(buffer, 0, n);
        }

        return read.ToArray();
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(8191, 8192)]
    [InlineData(65537, 4096)]
    [InlineData((1 << 20) - 1, 65536)]
    [InlineData(1 << 20, 65536)]
    [InlineData(1 << 20, 1 << 20)]
    [InlineData(1 << 20, 1000)] // framing past 1 MiB: streamed, though the body itself is not
    [InlineData((1 << 20) + 1, 65536)]
    [InlineData((3 << 20) - 5, 100_000)]
    public async Task Bodies_around_1_MiB_read_whole_across_chunk_and_buffer_boundaries(int length, int chunk)
    {
        var wire = Framed(length, chunk).Concat("GET /next"u8.ToArray()).ToArray();
        var input = Over(wire);
        var (body, end) = await Read(input);

        if (body is FramedRequestBody held)
        {
            Assert.True(wire.Length - 9 <= (1 << 20) + 8192); // buffered only when the framed body fit (give or take the last read)
            Assert.True(held.TryGetHeldLength(out var n));
            Assert.Equal(length, n);
            var copy = new byte[n];
            held.CopyHeldTo(copy);
            Assert.Equal(Bytes[..length], copy);
            Assert.Equal(Bytes[..length], ReadAll(held, 4093));
            held.Release();
            input.AdvanceTo(end);
        }
        else
        {
            var streamed = Assert.IsType<PipeRequestBody>(body);
            Assert.False(streamed.TryGetHeldLength(out _));
            Assert.Equal(Bytes[..length], ReadAll(streamed, 65536));
            Assert.True(streamed.IsComplete);
        }

        // What follows the body is left for the next request.
        var rest = await input.ReadAsync();
        Assert.Equal("GET /next", Encoding.ASCII.GetString(rest.Buffer.ToArray()));
    }

    [Theory]
    [InlineData(600_000)]
    [InlineData(1_500_000)]
    [InlineData(3_000_000)]
    public async Task Reading_a_chunked_body_allocates_no_array_that_grows_with_it(int length)
    {
        var wire = Framed(length, 65536);
        var pool = new KeepingPool();
        await Measure(wire, pool); // the pool's blocks, the JIT's first calls
        var before = GC.GetAllocatedBytesForCurrentThread();
        await Measure(wire, pool);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // The decoded body went to the destination alone; the old path grew an array to 1-2 MiB (2-4 MiB allocated).
        Assert.True(allocated < 256 * 1024, $"{allocated} bytes allocated reading a {length}-byte chunked body");

        static async Task Measure(byte[] wire, KeepingPool pool)
        {
            var input = Over(wire, pool);
            var (body, end) = await Read(input);
            if (body is FramedRequestBody held)
            {
                held.CopyHeldTo(Destination.AsSpan(0, length(held)));
                held.Release();
                input.AdvanceTo(end);
            }
            else
            {
                while (body.Read(Destination) > 0)
                {
                }
            }

            static int length(RequestBody b) => b.TryGetHeldLength(out var n) ? n : 0;
        }
    }

    private static readonly byte[] Destination = new byte[3 << 20];

    [Fact]
    public async Task A_body_cut_short_before_1_MiB_is_refused_before_the_app_runs()
    {
        var wire = Framed(1000, 100)[..500];
        var e = await Assert.ThrowsAsync<BadHttpRequestException>(() => Read(Over(wire)));
        Assert.Equal(RequestRejectionReason.UnexpectedEndOfInput, e.Reason);
    }

    [Fact]
    public async Task Bad_framing_within_the_first_MiB_is_refused_before_the_app_runs()
    {
        var wire = Encoding.ASCII.GetBytes("5\r\nhelloX\r\n0\r\n\r\n");
        var e = await Assert.ThrowsAsync<BadHttpRequestException>(() => Read(Over(wire)));
        Assert.Equal(RequestRejectionReason.ChunkMissingTerminator, e.Reason);
    }

    [Fact]
    public async Task A_body_sent_in_pieces_is_measured_as_they_arrive()
    {
        var wire = new Pipe();
        var input = PipeReader.Create(wire.Reader.AsStream());
        var reading = Read(input);
        foreach (var piece in new[] { "5\r", "\nhel", "lo\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: 1\r", "\n\r\n" })
        {
            await wire.Writer.WriteAsync(Encoding.ASCII.GetBytes(piece));
        }

        var (body, _) = await reading.WaitAsync(Timeout);
        Assert.True(body.TryGetHeldLength(out var n));
        var copy = new byte[n];
        body.CopyHeldTo(copy);
        Assert.Equal("helloabc", Encoding.ASCII.GetString(copy));
    }

    /// <summary>Keeps every block given back, so a second read of the same body rents nothing new.</summary>
    private sealed class KeepingPool : MemoryPool<byte>
    {
        private readonly Stack<byte[]> _free = new();

        public override int MaxBufferSize => int.MaxValue;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
        {
            var size = Math.Max(minBufferSize, 8192);
            return new Block(this, _free.TryPeek(out var top) && top.Length >= size ? _free.Pop() : new byte[size]);
        }

        protected override void Dispose(bool disposing)
        {
        }

        private sealed class Block(KeepingPool pool, byte[] array) : IMemoryOwner<byte>
        {
            public Memory<byte> Memory => array;

            public void Dispose() => pool._free.Push(array);
        }
    }
}
