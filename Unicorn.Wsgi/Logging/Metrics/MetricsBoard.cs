using System.IO.MemoryMappedFiles;

namespace Unicorn.Wsgi.Logging.Metrics;

/// <summary>
/// The master's side of the Prometheus metrics. Workers are separate processes, so each gets a fixed slot
/// in one memory-mapped file the master creates (<see cref="Path"/>, handed to workers with their slot
/// number); workers increment their slot, and a scrape sums the slots. Nothing crosses a socket per
/// request and a scrape never waits for a busy worker. When a worker exits, <see cref="Retire"/> folds its
/// counters into the master's totals and clears the slot, so counters never go backwards.
/// </summary>
public sealed unsafe class MetricsBoard : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly long* _base;
    private readonly long[] _retired = new long[MetricsSlot.FieldCount];
    private readonly Dictionary<string, long> _restarts = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _workers;

    private MetricsBoard(string path, int slots, MemoryMappedFile file, MemoryMappedViewAccessor view, long* @base)
    {
        Path = path;
        Slots = slots;
        _file = file;
        _view = view;
        _base = @base;
    }

    public string Path { get; }

    public int Slots { get; }

    /// <summary>Creates (or truncates) the file with room for <paramref name="slots"/> workers; pass the
    /// largest worker count the master may run (TTIN can raise it; size generously).</summary>
    public static MetricsBoard Create(string path, int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
        {
            stream.SetLength((long)slots * MetricsSlot.Size);
        }

        var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.ReadWrite);
        var view = file.CreateViewAccessor(0, (long)slots * MetricsSlot.Size, MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        return new MetricsBoard(path, slots, file, view, (long*)(pointer + view.PointerOffset));
    }

    /// <summary>A default location: tmpfs when there is one, so the pages never hit a disk.</summary>
    public static string DefaultPath(int masterPid) =>
        System.IO.Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : System.IO.Path.GetTempPath(), $"unicorn-metrics-{masterPid}");

    /// <summary>After a worker in <paramref name="slot"/> has exited: keep its counters, free the slot.</summary>
    public void Retire(int slot)
    {
        var fields = Slot(slot);
        lock (_lock)
        {
            for (var i = 0; i < MetricsSlot.FieldCount; i++)
            {
                if (MetricsSlot.IsCounter(i))
                {
                    _retired[i] += Volatile.Read(ref fields[i]);
                }

                Volatile.Write(ref fields[i], 0);
            }
        }
    }

    /// <summary>Counts a worker restart; causes are short words: timeout, crash, max_requests, boot_error, reload...</summary>
    public void RecordWorkerExit(string cause)
    {
        lock (_lock)
        {
            _restarts[cause] = _restarts.GetValueOrDefault(cause) + 1;
        }
    }

    public void SetWorkerCount(int workers) => Volatile.Write(ref _workers, workers);

    public MetricsSnapshot Snapshot()
    {
        var totals = new long[MetricsSlot.FieldCount];
        var workers = new List<WorkerGauges>();
        Dictionary<string, long> restarts;
        lock (_lock)
        {
            Array.Copy(_retired, totals, totals.Length);
            restarts = new Dictionary<string, long>(_restarts, StringComparer.Ordinal);
        }

        for (var slot = 0; slot < Slots; slot++)
        {
            var fields = Slot(slot);
            var pid = Volatile.Read(ref fields[MetricsSlot.Pid]);
            if (pid == 0)
            {
                continue;
            }

            for (var i = MetricsSlot.Requests; i < MetricsSlot.FieldCount; i++)
            {
                totals[i] += Volatile.Read(ref fields[i]);
            }

            workers.Add(new WorkerGauges(slot, pid,
                Volatile.Read(ref fields[MetricsSlot.InFlight]),
                Volatile.Read(ref fields[MetricsSlot.ThreadsTotal]),
                Volatile.Read(ref fields[MetricsSlot.ThreadsBusy]),
                Volatile.Read(ref fields[MetricsSlot.QueueDepth])));
        }

        return new MetricsSnapshot(
            totals.AsSpan(MetricsSlot.Statuses, MetricsSlot.StatusCount).ToArray(),
            totals.AsSpan(MetricsSlot.Buckets, MetricsSlot.BucketBounds.Length + 1).ToArray(),
            totals[MetricsSlot.Requests],
            totals[MetricsSlot.DurationSumMicros],
            workers,
            restarts,
            Volatile.Read(ref _workers));
    }

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
            // Already gone; nothing to clean.
        }
    }

    private long* Slot(int slot)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, Slots);
        return _base + ((long)slot * MetricsSlot.Size / sizeof(long));
    }
}
