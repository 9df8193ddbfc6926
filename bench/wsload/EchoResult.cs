using System.Diagnostics;
using System.Globalization;

namespace Unicorn.Bench.WsLoad;

/// <summary>Messages echoed, wall time, latency percentiles and errors, printed as wrk's BENCH line.</summary>
internal sealed record EchoResult(long Messages, TimeSpan Elapsed, long P50Us, long P99Us, int Errors)
{
    public static EchoResult From(List<long>[] latencies, TimeSpan elapsed, int errors)
    {
        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        long Percentile(int p) => all.Length == 0
            ? 0
            : all[Math.Min(all.Length - 1, all.Length * p / 100)] * 1_000_000 / Stopwatch.Frequency;
        return new EchoResult(all.Length, elapsed, Percentile(50), Percentile(99), errors);
    }

    public string BenchLine() => string.Create(CultureInfo.InvariantCulture,
        $"BENCH requests={Messages} duration_us={(long)Elapsed.TotalMicroseconds} p50_us={P50Us} p99_us={P99Us} errors={Errors} timeouts=0 status_errors=0");
}
