using System.IO.MemoryMappedFiles;

namespace Unicorn.Wsgi.Logging.Metrics;

/// <summary>
/// A worker's side of the Prometheus metrics: plain interlocked increments on its slot of the file the
/// master mapped (no socket, no lock, no allocation per request). The master reads every slot when scraped.
/// </summary>
public sealed unsafe class WorkerMetrics : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly long* _slot;

    private WorkerMetrics(MemoryMappedFile file, MemoryMappedViewAccessor view, long* slot)
    {
        _file = file;
        _view = view;
        _slot = slot;
    }

    /// <summary>Maps slot <paramref name="slot"/> of the master's metrics file (<see cref="MetricsBoard.Path"/>).</summary>
    public static WorkerMetrics Open(string path, int slot, int pid)
    {
        var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.ReadWrite);
        var view = file.CreateViewAccessor((long)slot * MetricsSlot.Size, MetricsSlot.Size, MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        var metrics = new WorkerMetrics(file, view, (long*)(pointer + view.PointerOffset));
        Volatile.Write(ref metrics._slot[MetricsSlot.Pid], pid);
        return metrics;
    }

    /// <summary>Counts one finished request (call from the worker's request-completed hook).</summary>
    public void RequestFinished(int status, TimeSpan duration)
    {
        Interlocked.Increment(ref _slot[MetricsSlot.Requests]);
        Interlocked.Add(ref _slot[MetricsSlot.DurationSumMicros], duration.Ticks / 10);
        Interlocked.Increment(ref _slot[MetricsSlot.Buckets + MetricsSlot.BucketIndex(duration)]);
        Interlocked.Increment(ref _slot[MetricsSlot.Statuses + MetricsSlot.StatusIndex(status)]);
    }

    /// <summary>Records the worker's gauges; call it from a periodic tick (the heartbeat). In-flight
    /// requests are those running on a Python thread plus those waiting for one.</summary>
    /// <param name="pythonThreads">Python threads the worker runs (1 for sync, --threads for gthread).</param>
    /// <param name="busyThreads">Of those, how many are running the app now.</param>
    /// <param name="queueDepth">Requests parsed and waiting for a Python thread.</param>
    public void Sample(int pythonThreads, int busyThreads, long queueDepth)
    {
        Volatile.Write(ref _slot[MetricsSlot.ThreadsTotal], pythonThreads);
        Volatile.Write(ref _slot[MetricsSlot.ThreadsBusy], busyThreads);
        Volatile.Write(ref _slot[MetricsSlot.QueueDepth], queueDepth);
        Volatile.Write(ref _slot[MetricsSlot.InFlight], busyThreads + queueDepth);
    }

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
