using System.Diagnostics;
using System.Globalization;

namespace Unicorn.Wsgi.ProcessContract;

/// <summary>
/// Times on a spare's way from the master's TTIN to its first response, for debug log lines: seconds on
/// CLOCK_MONOTONIC (Stopwatch's clock on Linux), which every process on the machine shares, so
/// bench/startup/worker_boot can line up the master's, the spare's and its own client's moments.
/// </summary>
public static class PromotionTrace
{
    /// <summary>"at mono 1234.567890" for a Stopwatch timestamp.</summary>
    public static string At(long timestamp) =>
        "at mono " + (timestamp / (double)Stopwatch.Frequency).ToString("F6", CultureInfo.InvariantCulture);
}
