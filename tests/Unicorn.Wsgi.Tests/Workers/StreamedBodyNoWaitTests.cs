using System.IO.Pipelines;
using System.Text;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// A greenlet hub reads a streamed body with TryReadNow, which must never wait, and waits off the hub with
/// WaitForData; the ASGI host waits with ReadAsync, on async I/O. Over a stream reader, as a connection's (it only
/// returns what it has already read).
/// </summary>
public class StreamedBodyNoWaitTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static (PipeWriter Client, PipeRequestBody Body) Open(long? length, bool chunked)
    {
        var wire = new Pipe();
        var reader = PipeReader.Create(wire.Reader.AsStream());
        var decoder = chunked ? new ChunkedBodyDecoder(HttpParserOptions.Default) : null;
        return (wire.Writer, new PipeRequestBody(reader, length, decoder, ReadOnlyMemory<byte>.Empty, Timeout));
    }

    private static async Task SendAsync(PipeWriter client, string text) => await client.WriteAsync(Encoding.ASCII.GetBytes(text));

    [Fact]
    public async Task A_chunk_size_line_split_across_sends_makes_it_wait_not_block()
    {
        var (client, body) = Open(null, chunked: true);
        var buffer = new byte[64];

        Assert.Equal(-1, body.TryReadNow(buffer));
        await SendAsync(client, "10\r");
        await Task.Run(body.WaitForData).WaitAsync(Timeout);
        Assert.Equal(-1, body.TryReadNow(buffer)); // only part of the size line: nothing to return yet

        var waiting = Task.Run(body.WaitForData);
        await Task.Delay(200);
        Assert.False(waiting.IsCompleted); // it waits for bytes it has not seen, rather than spinning on old ones
        await SendAsync(client, "\n0123456789abcdef\r\n0\r\n\r\n");
        await waiting.WaitAsync(Timeout);

        var n = body.TryReadNow(buffer);
        Assert.Equal("0123456789abcdef", Encoding.ASCII.GetString(buffer, 0, n));
        Assert.Equal(0, body.TryReadNow(buffer));
    }

    [Fact]
    public async Task A_content_length_body_returns_what_has_arrived_then_its_end()
    {
        var (client, body) = Open(5, chunked: false);
        var buffer = new byte[3];

        Assert.Equal(-1, body.TryReadNow(buffer));
        await SendAsync(client, "hello");
        await Task.Run(body.WaitForData).WaitAsync(Timeout);

        Assert.Equal(3, body.TryReadNow(buffer));
        Assert.Equal("hel", Encoding.ASCII.GetString(buffer));
        Assert.Equal(2, body.TryReadNow(buffer));
        Assert.Equal("lo", Encoding.ASCII.GetString(buffer, 0, 2));
        Assert.Equal(0, body.TryReadNow(buffer));
    }

    [Fact]
    public async Task A_client_gone_mid_body_is_an_IOException_from_the_read_after_the_wait()
    {
        var (client, body) = Open(100, chunked: false);
        await SendAsync(client, "part");
        await client.CompleteAsync();
        await Task.Run(body.WaitForData).WaitAsync(Timeout);

        var buffer = new byte[100];
        Assert.Equal(4, body.TryReadNow(buffer));
        // The reader learns of the end only by waiting for more; the read after that fails.
        Assert.Equal(-1, body.TryReadNow(buffer));
        await Task.Run(body.WaitForData).WaitAsync(Timeout);
        Assert.Throws<IOException>(() => body.TryReadNow(buffer));
    }

    [Fact]
    public async Task ReadAsync_waits_for_the_client_without_a_thread_and_returns_what_came_then_the_end()
    {
        var (client, body) = Open(null, chunked: true);
        var buffer = new byte[64];

        var pending = body.ReadAsync(buffer);
        await Task.Delay(200);
        Assert.False(pending.IsCompleted); // pending on the pipe: the ASGI host's pool thread is back meanwhile
        await SendAsync(client, "5\r\nhel");
        await SendAsync(client, "lo\r\n0\r\n\r\n");
        var n = await pending.AsTask().WaitAsync(Timeout);
        Assert.Equal("hello", Encoding.ASCII.GetString(buffer, 0, n));
        Assert.Equal(0, await body.ReadAsync(buffer).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task ReadAsync_of_a_client_that_sends_nothing_fails_after_the_read_timeout()
    {
        var wire = new Pipe();
        var body = new PipeRequestBody(PipeReader.Create(wire.Reader.AsStream()), 10, null, ReadOnlyMemory<byte>.Empty, TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAsync<RequestBodyTimeoutException>(async () => await body.ReadAsync(new byte[16]).AsTask().WaitAsync(Timeout));
    }
}
