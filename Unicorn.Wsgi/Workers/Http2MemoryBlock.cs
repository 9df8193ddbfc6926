using System.Buffers;

namespace Unicorn.Wsgi.Workers;

/// <summary>One rented block of <see cref="Http2MemoryPool"/>; disposing it returns the block once.</summary>
internal sealed class Http2MemoryBlock(Http2MemoryPool pool, byte[] block) : IMemoryOwner<byte>
{
    private byte[]? _block = block;

    public Memory<byte> Memory => _block ?? throw new ObjectDisposedException(nameof(Http2MemoryBlock));

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _block, null) is { } returned)
        {
            pool.Return(returned);
        }
    }
}
