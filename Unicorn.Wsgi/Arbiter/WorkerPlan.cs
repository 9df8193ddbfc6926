using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>A worker as the plan sees it: age (spawn order), heartbeat state, and whether it was told to stop.</summary>
public readonly record struct WorkerSnapshot(int Pid, int Age, WorkerState State, bool Stopping);

/// <summary>
/// Decides how many workers to start and which to stop so the count reaches the target without
/// dropping serving capacity: a worker retiring (--reload) or replaced (HUP) keeps serving until
/// enough replacements are ready. Oldest go first, as in Gunicorn. (A worker retiring after max_requests
/// has already stopped accepting and goes by itself; stopping it changes nothing.)
/// </summary>
public static class WorkerPlan
{
    public static (int Spawn, List<int> Stop) Decide(IReadOnlyCollection<WorkerSnapshot> workers, int target)
    {
        ArgumentNullException.ThrowIfNull(workers);
        var live = workers.Where(w => !w.Stopping).ToList();
        var active = live.Count(w => w.State != WorkerState.Retiring);
        var spawn = Math.Max(0, target - active);

        var stop = new List<int>();
        var ready = live.Count(w => w.State == WorkerState.Ready);
        var remaining = live.Count + spawn;
        foreach (var candidate in live.OrderBy(w => w.State == WorkerState.Retiring ? 0 : 1).ThenBy(w => w.Age))
        {
            if (remaining <= target)
            {
                break;
            }

            var readyAfter = ready - (candidate.State == WorkerState.Ready ? 1 : 0);
            if (candidate.State != WorkerState.Booting && readyAfter < target)
            {
                break;
            }

            stop.Add(candidate.Pid);
            ready = readyAfter;
            remaining--;
        }

        return (spawn, stop);
    }
}
