using System.Text;
using Unicorn.Wsgi.Tests.Http;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// The ASGI host's write path (IResponseSink.WriteAsync): the same framing as the blocking writes, on async I/O, and a
/// client that takes nothing is given up on after the timeout rather than waited for.
/// </summary>
public sealed class ResponseSinkAsyncWriteTests
{
    [Fact]
    public async Task A_streamed_body_is_chunked_and_ended_as_the_blocking_path_does()
    {
        var output = new MemoryStream();
        using var sink = new ResponseSink(output, Harness.Head("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), forceClose: false);
        sink.SetResponse("200 OK", [new("Content-Type", "text/plain")]);

        await sink.WriteAsync("hello"u8.ToArray(), complete: false);
        await sink.WriteAsync([], complete: false);
        await sink.WriteAsync(" world"u8.ToArray(), complete: true);

        var text = Encoding.Latin1.GetString(output.ToArray());
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", text, StringComparison.Ordinal);
        Assert.Contains("Transfer-Encoding: chunked\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", text, StringComparison.Ordinal);
        Assert.True(sink.KeepAlive);
        Assert.Equal(11, sink.BodyBytesSent);
        Assert.True(sink.HasAsyncWrites); // so the ASGI loop may write from its own thread
    }

    [Fact]
    public async Task A_client_that_takes_nothing_fails_the_write_after_the_timeout_and_ends_the_connection()
    {
        using var sink = new ResponseSink(new StalledStream(), Harness.Head("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), forceClose: false)
        {
            StalledClientTimeout = TimeSpan.FromMilliseconds(200),
        };
        sink.SetResponse("200 OK", [new("Content-Length", "4")]);

        var failed = await Assert.ThrowsAsync<IOException>(() => sink.WriteAsync("data"u8.ToArray(), complete: true).AsTask());

        Assert.Contains("took no response bytes", failed.Message, StringComparison.Ordinal);
        Assert.False(sink.KeepAlive);
        sink.Abort(); // what the host does next: nothing is left to send twice, so it returns at once
    }

    [Fact]
    public async Task The_bytes_are_copied_before_the_call_returns_so_the_caller_may_reuse_its_buffer_while_the_write_waits()
    {
        // The ASGI host hands the sink the app's bytes object in place, valid only while it holds the GIL.
        var peer = new GatedStream();
        using var sink = new ResponseSink(peer, Harness.Head("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), forceClose: false);
        sink.SetResponse("200 OK", [new("Content-Length", "65536")]);
        var buffer = Enumerable.Repeat((byte)'a', 65536).ToArray();

        var pending = sink.WriteAsync(buffer, complete: true);
        Assert.False(pending.IsCompleted);
        buffer.AsSpan().Fill((byte)'b');
        peer.Open.SetResult();
        await pending;

        var sent = peer.Received.ToArray();
        var body = sent.AsSpan(sent.AsSpan().IndexOf("\r\n\r\n"u8) + 4);
        Assert.Equal(65536, body.Length);
        Assert.Equal(-1, body.IndexOfAnyExcept((byte)'a'));
    }

    /// <summary>A peer that takes bytes only once <see cref="Open"/> is set.</summary>
    private sealed class GatedStream : AsyncWritesOnlyStream
    {
        public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public MemoryStream Received { get; } = new();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Open.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            Received.Write(buffer.Span);
        }
    }

    /// <summary>A peer whose window stays shut: every write waits until it is cancelled.</summary>
    private sealed class StalledStream : AsyncWritesOnlyStream
    {
        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A write-only peer on which a blocking call fails the test: the async path must not make one.</summary>
    private abstract class AsyncWritesOnlyStream : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => throw new InvalidOperationException("a blocking write on the async path");
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new InvalidOperationException("a blocking write on the async path");
    }
}
