namespace Unicorn.Wsgi.Connections;

/// <summary>
/// A stream that first returns bytes already read from <paramref name="inner"/> (what followed a PROXY header
/// in the same packet), then reads <paramref name="inner"/> directly: the TLS handshake sees the connection
/// from where the PROXY stage stopped, and after those few bytes no read is copied twice. <paramref name="disposed"/>
/// runs once the stream is disposed (an upgraded connection's socket is shut down then).
/// </summary>
internal sealed class PrefixedStream(byte[] prefix, Stream inner, Action? disposed = null) : Stream
{
    private int _offset;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) => TryReadPrefix(buffer, out var n) ? n : inner.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        TryReadPrefix(buffer.Span, out var n) ? ValueTask.FromResult(n) : inner.ReadAsync(buffer, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(buffer, cancellationToken);

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        disposed?.Invoke();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            disposed?.Invoke();
        }

        base.Dispose(disposing);
    }

    private bool TryReadPrefix(Span<byte> buffer, out int n)
    {
        var left = prefix.Length - _offset;
        if (left <= 0)
        {
            n = 0;
            return false;
        }

        // A zero-byte read is a wait for data (SslStream's handshake reads that way): with prefix bytes left it
        // completes at once. Passed on to the socket it would wait for bytes the client sends only after the
        // server's answer to the ClientHello held here, until the handshake timed out.
        n = Math.Min(buffer.Length, left);
        prefix.AsSpan(_offset, n).CopyTo(buffer);
        _offset += n;
        return true;
    }
}
