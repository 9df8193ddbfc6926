using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>The block pool Kestrel's HTTP/2 pipes draw from (<see cref="Http2MemoryPool"/>).</summary>
public sealed class Http2MemoryPoolTests
{
    [Fact]
    public async Task A_block_returned_on_another_thread_is_reused_not_reallocated()
    {
        using var pool = new Http2MemoryPool();
        var owner = pool.Rent();
        Assert.Equal(Http2MemoryPool.BlockSize, owner.Memory.Length);
        var first = owner.Memory;
        // Kestrel's output loop returns what the app thread rented.
        await Task.Run(owner.Dispose);

        using var again = pool.Rent(Http2MemoryPool.BlockSize);
        Assert.True(again.Memory.Span == first.Span, "the returned block was not reused");
    }

    [Fact]
    public void Disposing_twice_returns_the_block_once()
    {
        using var pool = new Http2MemoryPool();
        var owner = pool.Rent();
        var block = owner.Memory;
        owner.Dispose();
        owner.Dispose();
        Assert.Throws<ObjectDisposedException>(() => owner.Memory);

        using var a = pool.Rent();
        using var b = pool.Rent();
        Assert.True(a.Memory.Span == block.Span);
        Assert.False(b.Memory.Span == block.Span, "one block was handed out twice");
    }

    [Fact]
    public void At_most_the_retained_count_is_kept_and_larger_blocks_are_refused()
    {
        using var pool = new Http2MemoryPool();
        var owners = Enumerable.Range(0, Http2MemoryPool.RetainedBlocks + 10).Select(_ => pool.Rent()).ToList();
        var blocks = owners.Select(o => o.Memory).ToList();
        owners.ForEach(o => o.Dispose());

        var reused = Enumerable.Range(0, Http2MemoryPool.RetainedBlocks + 10).Select(_ => pool.Rent()).ToList();
        var kept = reused.Count(r => blocks.Any(b => b.Span == r.Memory.Span));
        Assert.Equal(Http2MemoryPool.RetainedBlocks, kept);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(Http2MemoryPool.BlockSize + 1));
    }
}
