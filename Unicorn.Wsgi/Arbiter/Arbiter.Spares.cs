using System.Diagnostics;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Arbiter;

// worker_spares: workers booted ahead (.NET started, hooks and post_fork run, the app imported) and parked
// without accepting, so a worker the master needs (TTIN, a dead or retired one) starts serving at once.
public sealed partial class Arbiter
{
    /// <summary>Spares by pid: children of the master like workers, but not counted, timed or served from.</summary>
    private readonly Dictionary<int, WorkerHandle> _spares = [];

    /// <summary>
    /// Set when a spare failed to boot (exit 3 or 4): no more are started until the next reload, so a
    /// broken app is not booted over and over in the background (the workers report it themselves).
    /// </summary>
    private bool _sparesFailed;

    /// <summary>When the last spare was promoted (Stopwatch timestamp; 0: never).</summary>
    private long _promotedAt;

    /// <summary>When the loop last took its signals (Stopwatch timestamp), for the promotion's debug line.</summary>
    private long _signalsTakenAt;

    /// <summary>How long a promoted spare has the CPU to itself before its replacement starts booting.</summary>
    private static readonly TimeSpan RefillDelay = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Promotes a parked spare of the current generation: its heartbeat is set back to booting (the
    /// worker marks itself ready on SIGUSR2) and its boot allowance starts now. False: none is parked.
    /// </summary>
    private bool PromoteSpare()
    {
        foreach (var spare in _spares.Values.OrderBy(s => s.Age))
        {
            WorkerState state;
            try
            {
                state = spare.Heartbeat.Read().State;
            }
            catch (IOException)
            {
                continue;
            }

            if (state != WorkerState.Spare || spare.Generation != _generation || spare.StopSentAt is not null)
            {
                continue;
            }

            _spares.Remove(spare.Pid);
            spare.Heartbeat.Beat(WorkerState.Booting);
            spare.SpawnedAt = WorkerHeartbeat.Now;
            if (Libc.kill(spare.Pid, Libc.SIGUSR2) != 0)
            {
                // Died since its last beat: reaped as a spare below, and the next one is tried.
                _spares[spare.Pid] = spare;
                continue;
            }

            _workers[spare.Pid] = spare;
            _promotedAt = WorkerHeartbeat.Now;
            _log.Debug($"Promoted spare worker (pid: {spare.Pid}): signal taken {PromotionTrace.At(_signalsTakenAt)}, USR2 sent {PromotionTrace.At(spare.SpawnedAt)}");
            return true;
        }

        return false;
    }

    /// <summary>
    /// Starts spares up to worker_spares, only while no worker is booting and not in the second after a
    /// promotion: a spare's boot is background work and must not slow a worker that is about to serve.
    /// </summary>
    private void RefillSpares()
    {
        var wanted = _settings.WorkerSpares;
        var live = _spares.Values.Count(s => s.StopSentAt is null);
        if (wanted <= 0 || _sparesFailed || _numWorkers == 0 || live >= wanted || StartsHeldBack)
        {
            return;
        }

        if ((_promotedAt != 0 && Stopwatch.GetElapsedTime(_promotedAt) < RefillDelay)
            || _workers.Values.Any(w => w.StopSentAt is null && w.Snapshot().State == WorkerState.Booting))
        {
            return;
        }

        try
        {
            for (; live < wanted; live++)
            {
                var spare = StartWorker(spare: true);
                _spares[spare.Pid] = spare;
                _log.Debug($"Booting spare worker (pid: {spare.Pid})");
            }
        }
        catch (IOException e)
        {
            StartFailed("Cannot start a spare worker: " + e.Message);
        }
    }

    /// <summary>HUP, USR2's new master, a stop: spares hold the old settings and app, so they go.</summary>
    private void DiscardSpares()
    {
        foreach (var spare in _spares.Values)
        {
            spare.StopSentAt ??= WorkerHeartbeat.Now;
            KillWorker(spare.Pid, Libc.SIGTERM);
        }

        _sparesFailed = false;
    }

    /// <summary>
    /// Collects exited spares; one that failed to boot stops the refilling until the next reload. A spare
    /// still booting past the boot allowance (an import that hangs) is killed, and replaced like a dead one.
    /// </summary>
    private void ReapSpares()
    {
        var allowance = WorkerTimeouts.BootAllowance(_config.Timeout, _config.BootTimeout);
        foreach (var spare in _spares.Values.ToList())
        {
            if (allowance is { } limit && spare.StopSentAt is null && Stopwatch.GetElapsedTime(spare.SpawnedAt) > limit
                && spare.Snapshot().State == WorkerState.Booting)
            {
                _log.Warning($"Spare worker (pid: {spare.Pid}) still booting after {limit.TotalSeconds:0} s (boot_timeout); killing it");
                spare.StopSentAt = WorkerHeartbeat.Now;
                KillWorker(spare.Pid, Libc.SIGKILL);
            }

            var rc = Libc.waitpid(spare.Pid, out var status, Libc.WNOHANG);
            if (rc == 0 || (rc < 0 && Libc.Errno != Libc.ECHILD))
            {
                continue;
            }

            _spares.Remove(spare.Pid);
            spare.Dispose();
            _options.Metrics?.WorkerExited(spare.Pid, "spare");
            var exit = new WorkerExit(spare.Pid, rc < 0 ? 0 : status);
            if (exit.Halt is not null && spare.StopSentAt is null)
            {
                _sparesFailed = true;
                _log.Error($"Spare worker (pid: {spare.Pid}) failed to boot; no more spares until a reload");
            }
            else if (spare.StopSentAt is null && exit.ExitCode != 0)
            {
                foreach (var (level, message) in exit.LogLines())
                {
                    _log.Log(level, message);
                }
            }
            else
            {
                _log.Debug($"Spare worker (pid: {spare.Pid}) exited");
            }

            RunHook("child_exit", () => _options.Hooks.ChildExit?.Invoke(spare.Info));
        }
    }
}
