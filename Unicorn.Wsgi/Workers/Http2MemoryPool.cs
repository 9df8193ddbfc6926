using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections.Features;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// The blocks Kestrel's HTTP/2 pipes (each stream's response pipe, the connection's output) are built from, shared by
/// a worker's HTTP/2 connections. Without an <see cref="IMemoryPoolFeature"/> Kestrel takes <c>MemoryPool.Shared</c>:
/// 4 KiB arrays from the shared ArrayPool, rented on the app thread and returned by Kestrel's output loop on another,
/// so with a 1 MiB response (256 blocks) in flight the pool missed and a new array was allocated per block, about an
/// eighth of the worker's CPU in that benchmark (bench/results/2026-12-05-0308-http2-get1m-cpu.md). Here a block
/// returned on any thread is reused by any other; at most <see cref="RetainedBlocks"/> are kept, the rest are left
/// to the GC.
/// </summary>
internal sealed class Http2MemoryPool : MemoryPool<byte>, IMemoryPoolFeature
{
    /// <summary>The block size: Kestrel's own pool's, and the most a pipe asks of a pool before renting elsewhere.</summary>
    public const int BlockSize = 4096;

    /// <summary>Blocks kept for reuse: 16 MiB, sixteen 1 MiB responses in flight, only after such a peak.</summary>
    public const int RetainedBlocks = 4096;

    private readonly ConcurrentBag<byte[]> _free = [];
    private int _freeCount;

    public override int MaxBufferSize => BlockSize;

    MemoryPool<byte> IMemoryPoolFeature.MemoryPool => this;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        if (_free.TryTake(out var block))
        {
            Interlocked.Decrement(ref _freeCount);
        }
        else
        {
            block = GC.AllocateUninitializedArray<byte>(BlockSize);
        }

        return new Http2MemoryBlock(this, block);
    }

    /// <summary>Takes a block back from its owner's Dispose.</summary>
    internal void Return(byte[] block)
    {
        if (Interlocked.Increment(ref _freeCount) <= RetainedBlocks)
        {
            _free.Add(block);
        }
        else
        {
            Interlocked.Decrement(ref _freeCount);
        }
    }

    protected override void Dispose(bool disposing) => _free.Clear();
}
