namespace Unicorn.Wsgi.Logging.Metrics;

/// <summary>One live worker's gauges.</summary>
public sealed record WorkerGauges(int Slot, long Pid, long InFlight, long ThreadsTotal, long ThreadsBusy, long QueueDepth);

/// <summary>Everything a scrape reports, summed over live and retired workers.</summary>
public sealed record MetricsSnapshot(
    long[] RequestsByStatus,
    long[] DurationBuckets,
    long Requests,
    long DurationSumMicros,
    IReadOnlyList<WorkerGauges> Workers,
    IReadOnlyDictionary<string, long> RestartsByCause,
    int WorkerCount);
