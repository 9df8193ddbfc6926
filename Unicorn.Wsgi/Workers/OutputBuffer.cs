using System.Buffers;

namespace Unicorn.Wsgi.Workers;

/// <summary>A pooled buffer that collects a response's bytes until they are flushed to the stream.</summary>
internal sealed class OutputBuffer(Stream stream) : IBufferWriter<byte>, IDisposable
{
    private const int InitialSize = 16 * 1024;

    // Plain sockets are written with send(2) from the calling thread; TLS goes through its stream.
    private readonly System.Net.Sockets.Socket? _socket = (stream as System.Net.Sockets.NetworkStream)?.Socket;

    // Rented on first use: a websocket's response never writes through its sink, and would hold 16 KiB while open.
    private byte[] _buffer = [];
    private int _count;

    public int Count => _count;

    /// <summary>True on a plain socket, which <see cref="TrySendNow"/> writes without waiting.</summary>
    public bool IsSocket => _socket is not null;

    public void Advance(int count) => _count += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsMemory(_count);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsSpan(_count);
    }

    /// <summary>Writes what is buffered to the stream (blocking).</summary>
    public void Flush()
    {
        if (_count > 0)
        {
            Send(_buffer.AsSpan(0, _count));
            _count = 0;
        }
    }

    /// <summary>
    /// On a plain socket, sends what is buffered with one write that never waits. True when all of it went;
    /// otherwise what the socket did not take stays buffered for <see cref="Flush"/>.
    /// </summary>
    /// <exception cref="IOException">the peer went away.</exception>
    public bool TrySendNow()
    {
        if (_count == 0)
        {
            return true;
        }

        var sent = Transport.SocketSend.SendNow(_socket ?? throw new InvalidOperationException("not a socket"), _buffer.AsSpan(0, _count));
        if (sent == _count)
        {
            _count = 0;
            return true;
        }

        _buffer.AsSpan(sent, _count - sent).CopyTo(_buffer);
        _count -= sent;
        return false;
    }

    /// <summary>
    /// Writes what is buffered on async I/O: no thread waits while the client is slow. The buffer counts as sent
    /// once the write starts, so bytes a failed or cancelled write left behind are dropped, never sent twice.
    /// </summary>
    public async ValueTask FlushAsync(CancellationToken cancel)
    {
        if (_count == 0)
        {
            return;
        }

        var n = _count;
        _count = 0;
        await stream.WriteAsync(_buffer.AsMemory(0, n), cancel).ConfigureAwait(false);
    }

    /// <summary>Writes data straight to the stream after what is buffered: no copy for large bodies.</summary>
    public void WriteThrough(ReadOnlySpan<byte> data) => WriteThrough(data, []);

    /// <summary>
    /// Writes what is buffered, <paramref name="data"/> and <paramref name="trailer"/> (a chunk's CRLF) to the
    /// stream: on a socket in one gather write, with <paramref name="data"/> never copied.
    /// </summary>
    public void WriteThrough(ReadOnlySpan<byte> data, ReadOnlySpan<byte> trailer)
    {
        if (_socket is { } socket)
        {
            Transport.SocketSend.SendAll(socket, _buffer.AsSpan(0, _count), data, trailer);
            _count = 0;
            return;
        }

        Flush();
        Send(data);
        if (!trailer.IsEmpty)
        {
            Send(trailer);
        }
    }

    private void Send(ReadOnlySpan<byte> data)
    {
        if (_socket is { } socket)
        {
            Transport.SocketSend.SendAll(socket, data);
        }
        else
        {
            stream.Write(data);
        }
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Reserve(int sizeHint)
    {
        var needed = _count + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Max(InitialSize, _buffer.Length * 2)));
        _buffer.AsSpan(0, _count).CopyTo(bigger);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = bigger;
    }
}
