using System.Diagnostics;
using Unicorn.Wsgi.Interop;

namespace Unicorn.Wsgi.Workers;

public sealed partial class WorkerProcess
{
    /// <summary>How long a worker answers nothing before it gives back the memory its last burst left free.</summary>
    internal static readonly TimeSpan IdleSettleAfter = TimeSpan.FromSeconds(5);

    private readonly IdleSettle _idleSettle = new(IdleSettleAfter);

    /// <summary>
    /// Once the worker has been quiet for <see cref="IdleSettleAfter"/>: one compacting collection that also
    /// decommits the GC's free space, then malloc_trim. A burst of requests leaves 10-13 MiB per worker
    /// committed that a quiet worker does not touch again (bench/results/findings.md); under load this never
    /// runs, and it runs once per quiet spell. Checked at each heartbeat.
    /// </summary>
    private void ReturnIdleMemory(Worker worker)
    {
        if (!_idleSettle.Due(worker.RequestCount, worker.BusyThreads > 0, Stopwatch.GetTimestamp()))
        {
            return;
        }

        var paused = ReturnFreeMemory();
        _log.Debug($"Worker (pid: {_info.Pid}) quiet for {IdleSettleAfter.TotalSeconds:0} s: returned its free memory " +
            $"(collection paused {paused.TotalMilliseconds:0.0} ms)");
    }

    /// <summary>
    /// One compacting collection that also decommits the GC's free space, then malloc_trim; how long the collection
    /// paused the process. For a worker gone quiet, and for a spare before it parks (its warm-up is garbage then).
    /// </summary>
    private static TimeSpan ReturnFreeMemory()
    {
        var paused = GC.GetTotalPauseDuration();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Libc.TrimMalloc();
        return GC.GetTotalPauseDuration() - paused;
    }
}
