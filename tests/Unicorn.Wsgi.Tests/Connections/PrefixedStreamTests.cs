using System.IO.Pipelines;
using Unicorn.Wsgi.Connections;

namespace Unicorn.Wsgi.Tests.Connections;

/// <summary>
/// The bytes a PROXY stage read past its header (the ClientHello) come first, then the connection. SslStream
/// waits for data with zero-byte reads: one must not wait on the connection while those bytes are unread, or
/// a handshake whose ClientHello came in the PROXY header's packet times out (seen under load).
/// </summary>
public sealed class PrefixedStreamTests
{
    [Fact]
    public async Task A_zero_byte_read_completes_at_once_while_prefix_bytes_are_left()
    {
        var silent = new Pipe(); // the client: it sends nothing more until the server answers
        await using var stream = new PrefixedStream("hello"u8.ToArray(), silent.Reader.AsStream());

        var wait = stream.ReadAsync(Memory<byte>.Empty);
        Assert.True(wait.IsCompleted);
        Assert.Equal(0, await wait);

        var buffer = new byte[16];
        Assert.Equal(5, await stream.ReadAsync(buffer));
        Assert.Equal("hello"u8.ToArray(), buffer[..5]);

        // With the prefix read, a zero-byte read waits for the connection again, and completes when bytes come.
        var next = stream.ReadAsync(Memory<byte>.Empty);
        Assert.False(next.IsCompleted);
        await silent.Writer.WriteAsync("more"u8.ToArray());
        Assert.Equal(0, await next.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(4, await stream.ReadAsync(buffer));
    }
}
