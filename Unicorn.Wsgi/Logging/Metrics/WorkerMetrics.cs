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

    public void RequestStarted() => Interlocked.Increment(ref _slot[MetricsSlot.InFlight]);

    public void RequestFinished(int status, TimeSpan duration)
    {
        Interlocked.Decrement(ref _slot[MetricsSlot.InFlight]);
        Interlocked.Increment(ref _slot[MetricsSlot.Requests]);
        Interlocked.Add(ref _slot[MetricsSlot.DurationSumMicros], duration.Ticks / 10);
        Interlocked.Increment(ref _slot[MetricsSlot.Buckets + MetricsSlot.BucketIndex(duration)]);
        Interlocked.Increment(ref _slot[MetricsSlot.Statuses + MetricsSlot.StatusIndex(status)]);
    }

    /// <summary>How many Python threads this worker runs (1 for sync, --threads for gthread).</summary>
    public void SetPythonThreads(int total) => Volatile.Write(ref _slot[MetricsSlot.ThreadsTotal], total);

    public void PythonThreadBusy() => Interlocked.Increment(ref _slot[MetricsSlot.ThreadsBusy]);

    public void PythonThreadIdle() => Interlocked.Decrement(ref _slot[MetricsSlot.ThreadsBusy]);

    /// <summary>Requests parsed and waiting for a Python thread.</summary>
    public void SetQueueDepth(long depth) => Volatile.Write(ref _slot[MetricsSlot.QueueDepth], depth);

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
