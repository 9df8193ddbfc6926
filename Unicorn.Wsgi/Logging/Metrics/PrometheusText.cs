using System.Globalization;
using System.Text;

namespace Unicorn.Wsgi.Logging.Metrics;

/// <summary>Renders a <see cref="MetricsSnapshot"/> in Prometheus' text exposition format (version 0.0.4).</summary>
public static class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Render(MetricsSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var text = new StringBuilder(4096);

        Header(text, "unicorn_requests_total", "counter", "Requests answered, by HTTP status code.");
        for (var code = 0; code < snapshot.RequestsByStatus.Length; code++)
        {
            if (snapshot.RequestsByStatus[code] != 0)
            {
                Line(text, "unicorn_requests_total", code == 0 ? "status=\"other\"" : $"status=\"{code}\"", snapshot.RequestsByStatus[code]);
            }
        }

        Header(text, "unicorn_request_duration_seconds", "histogram", "Time from request start to response end.");
        long cumulative = 0;
        for (var i = 0; i < snapshot.DurationBuckets.Length; i++)
        {
            cumulative += snapshot.DurationBuckets[i];
            var bound = i < MetricsSlot.BucketBounds.Length ? MetricsSlot.BucketBounds[i].ToString(CultureInfo.InvariantCulture) : "+Inf";
            Line(text, "unicorn_request_duration_seconds_bucket", $"le=\"{bound}\"", cumulative);
        }

        text.Append(CultureInfo.InvariantCulture, $"unicorn_request_duration_seconds_sum {(snapshot.DurationSumMicros / 1e6).ToString("R", CultureInfo.InvariantCulture)}\n");
        Line(text, "unicorn_request_duration_seconds_count", null, snapshot.Requests);

        Header(text, "unicorn_requests_in_flight", "gauge", "Requests being handled, per worker.");
        foreach (var w in snapshot.Workers)
        {
            Line(text, "unicorn_requests_in_flight", WorkerLabels(w), w.InFlight);
        }

        Header(text, "unicorn_python_threads", "gauge", "Python threads per worker, busy running the app or idle.");
        foreach (var w in snapshot.Workers)
        {
            Line(text, "unicorn_python_threads", WorkerLabels(w) + ",state=\"busy\"", w.ThreadsBusy);
            Line(text, "unicorn_python_threads", WorkerLabels(w) + ",state=\"idle\"", Math.Max(0, w.ThreadsTotal - w.ThreadsBusy));
        }

        Header(text, "unicorn_queue_depth", "gauge", "Requests parsed and waiting for a Python thread, per worker.");
        foreach (var w in snapshot.Workers)
        {
            Line(text, "unicorn_queue_depth", WorkerLabels(w), w.QueueDepth);
        }

        Header(text, "unicorn_workers", "gauge", "Workers the master is running.");
        Line(text, "unicorn_workers", null, snapshot.WorkerCount);

        Header(text, "unicorn_worker_restarts_total", "counter", "Workers that exited and were replaced, by cause.");
        foreach (var (cause, count) in snapshot.RestartsByCause.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Line(text, "unicorn_worker_restarts_total", $"cause=\"{EscapeLabel(cause)}\"", count);
        }

        return text.ToString();
    }

    /// <summary>Label values escape backslash, double quote and newline.</summary>
    public static string EscapeLabel(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string WorkerLabels(WorkerGauges w) => string.Create(CultureInfo.InvariantCulture, $"worker=\"{w.Slot}\",pid=\"{w.Pid}\"");

    private static void Header(StringBuilder text, string name, string type, string help) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n");

    private static void Line(StringBuilder text, string name, string? labels, long value)
    {
        if (labels is null)
        {
            text.Append(CultureInfo.InvariantCulture, $"{name} {value}\n");
        }
        else
        {
            text.Append(CultureInfo.InvariantCulture, $"{name}{{{labels}}} {value}\n");
        }
    }
}
