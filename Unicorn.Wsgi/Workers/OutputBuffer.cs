using System.Buffers;

namespace Unicorn.Wsgi.Workers;

/// <summary>A pooled buffer that collects a response's bytes until they are flushed to the stream.</summary>
internal sealed class OutputBuffer(Stream stream) : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private int _count;

    public int Count => _count;

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
            stream.Write(_buffer, 0, _count);
            _count = 0;
        }
    }

    /// <summary>Writes data straight to the stream after what is buffered: no copy for large bodies.</summary>
    public void WriteThrough(ReadOnlySpan<byte> data)
    {
        Flush();
        stream.Write(data);
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

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _count).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}
