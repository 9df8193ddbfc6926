namespace Unicorn.Wsgi.Logging.Metrics;

/// <summary>
/// The layout of one worker's slot in the shared metrics file: fixed offsets of 64-bit integers, written by
/// the worker with interlocked operations and read by the master. Counters only grow while a worker lives;
/// the master folds a dead worker's counters into its own totals before the slot is reused.
/// </summary>
internal static class MetricsSlot
{
    public const int Size = 8192;

    public const int Pid = 0;
    public const int InFlight = 1;
    public const int ThreadsTotal = 2;
    public const int ThreadsBusy = 3;
    public const int QueueDepth = 4;
    public const int Requests = 5;
    public const int DurationSumMicros = 6;
    public const int Buckets = 7;
    public const int Statuses = Buckets + 16; // status code -> count, codes outside 100..599 count at index 0
    public const int StatusCount = 600;
    public const int FieldCount = Statuses + StatusCount;

    /// <summary>Histogram upper bounds in seconds (Prometheus' defaults); the last bucket is +Inf.</summary>
    public static readonly double[] BucketBounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Fields that are counters (kept across restarts), as opposed to gauges.</summary>
    public static bool IsCounter(int field) => field >= Requests;

    public static int BucketIndex(TimeSpan duration)
    {
        var seconds = duration.TotalSeconds;
        for (var i = 0; i < BucketBounds.Length; i++)
        {
            if (seconds <= BucketBounds[i])
            {
                return i;
            }
        }

        return BucketBounds.Length;
    }

    public static int StatusIndex(int status) => status is >= 100 and < StatusCount ? status : 0;
}
