using System.Globalization;

namespace Unicorn.Wsgi.Logging.Metrics;

/// <summary>
/// How the master tells a worker where its metrics slot is: two environment variables set when the worker
/// is spawned. Absent variables mean metrics are off (<c>--metrics-bind</c> not given).
/// </summary>
public static class MetricsEnvironment
{
    public const string FileVariable = "UNICORN_METRICS_FILE";
    public const string SlotVariable = "UNICORN_METRICS_SLOT";

    /// <summary>The variables for a worker in <paramref name="slot"/> (add them to its start info).</summary>
    public static IEnumerable<KeyValuePair<string, string>> ForWorker(MetricsBoard board, int slot)
    {
        ArgumentNullException.ThrowIfNull(board);
        yield return new(FileVariable, board.Path);
        yield return new(SlotVariable, slot.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>In a worker: maps its slot when the master asked for metrics, else null.</summary>
    public static WorkerMetrics? OpenForWorker(int pid)
    {
        var path = Environment.GetEnvironmentVariable(FileVariable);
        var slotText = Environment.GetEnvironmentVariable(SlotVariable);
        if (string.IsNullOrEmpty(path) || !int.TryParse(slotText, NumberStyles.None, CultureInfo.InvariantCulture, out var slot))
        {
            return null;
        }

        return WorkerMetrics.Open(path, slot, pid);
    }
}
