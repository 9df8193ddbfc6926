using System.Globalization;

namespace Unicorn.Wsgi.Workers;

// Under a memory limit the kernel's OOM killer takes the process with the largest score. A worker killed is replaced
// by the master; the master killed takes the whole server down, silently (its workers see their parent change and
// leave). Gunicorn's master is much smaller than its forked workers, so it is rarely the one; a .NET master is not
// that small, and was seen killed (bench/results/2026-12-06-users15.md). So a worker asks to be preferred.
public sealed partial class WorkerProcess
{
    /// <summary>How much more killable than the master a worker makes itself (oom_score_adj, -1000..1000).</summary>
    internal const int OomScoreAboveMaster = 100;

    /// <summary>Raises this worker's oom_score_adj to the master's plus <see cref="OomScoreAboveMaster"/>, once (a
    /// forked worker inherits the zygote's, which is the master's). Raising needs no privilege; a failure changes
    /// nothing else.</summary>
    private void PreferToBeKilledBeforeTheMaster()
    {
        try
        {
            var master = int.Parse(File.ReadAllText($"/proc/{_masterPid}/oom_score_adj").Trim(), CultureInfo.InvariantCulture);
            var own = int.Parse(File.ReadAllText("/proc/self/oom_score_adj").Trim(), CultureInfo.InvariantCulture);
            var wanted = Math.Min(1000, master + OomScoreAboveMaster);
            if (own < wanted)
            {
                File.WriteAllText("/proc/self/oom_score_adj", wanted.ToString(CultureInfo.InvariantCulture));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            _log.Debug($"oom_score_adj left as it is: {e.Message}");
        }
    }
}
