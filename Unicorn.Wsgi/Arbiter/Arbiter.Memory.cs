using System.Globalization;

namespace Unicorn.Wsgi.Arbiter;

public sealed partial class Arbiter
{
    private const long Mebibyte = 1024 * 1024;

    /// <summary>
    /// max_worker_rss: a ready worker whose resident memory passed the limit is marked for replacement. It
    /// goes on serving while the plan boots its replacement, then gets a graceful TERM (it finishes what it
    /// has), the path a HUP takes, so no request fails. Read from /proc each loop: one small file per worker.
    /// </summary>
    private void RecycleLargeWorkers()
    {
        if (_config.MaxWorkerRss <= 0)
        {
            return;
        }

        var limit = _config.MaxWorkerRss * Mebibyte;
        foreach (var worker in _workers.Values)
        {
            if (worker.Recycling || worker.StopSentAt is not null || worker.AbortedAt is not null
                || worker.Snapshot().State != ProcessContract.WorkerState.Ready
                || ResidentBytes(worker.Pid) is not { } rss || rss <= limit)
            {
                continue;
            }

            worker.Recycling = true;
            worker.StopCause ??= "max_worker_rss";
            _log.Info($"Worker (pid:{worker.Pid}) uses {rss / Mebibyte} MiB, over max_worker_rss ({_config.MaxWorkerRss} MiB): replacing it");
            _options.WorkerRssRecycled?.Invoke();
        }
    }

    /// <summary>A process's resident set size (/proc/PID/statm's second field, in pages); null once it is gone.</summary>
    internal static long? ResidentBytes(int pid)
    {
        string statm;
        try
        {
            statm = File.ReadAllText($"/proc/{pid}/statm");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var fields = statm.Split(' ', 3);
        return fields.Length >= 2 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pages)
            ? pages * Environment.SystemPageSize
            : null;
    }
}
