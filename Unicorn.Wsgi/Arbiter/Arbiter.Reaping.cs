using System.Diagnostics;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Arbiter;

public sealed partial class Arbiter
{
    /// <summary>After SIGABRT a stuck worker gets this long to log its stack before SIGKILL.</summary>
    private static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Collects exited workers (only our own pids: waitpid(-1) would steal children .NET's Process
    /// started), logs how each died, and halts the master on a boot failure (exit 3 or 4).
    /// </summary>
    private void ReapWorkers(bool halt = true)
    {
        if (_reexecPid != 0 && Libc.waitpid(_reexecPid, out _, Libc.WNOHANG) == _reexecPid)
        {
            _reexecPid = 0;
            CloseUpgradeReadyRead();
        }

        ReapSpares();

        foreach (var worker in _workers.Values.ToList())
        {
            var rc = Libc.waitpid(worker.Pid, out var status, Libc.WNOHANG);
            if (rc == 0 || (rc < 0 && Libc.Errno != Libc.ECHILD))
            {
                continue;
            }

            var retiring = worker.Snapshot().State == WorkerState.Retiring;
            _workers.Remove(worker.Pid);
            _portSlots?.Release(worker.Pid);
            var exit = new WorkerExit(worker.Pid, rc < 0 ? 0 : status);
            // The cause is read from the heartbeat file (why a retiring worker asked to go): before it is closed.
            _options.Metrics?.WorkerExited(worker.Pid, ExitCause(worker, exit, retiring));
            worker.Dispose();
            foreach (var (level, message) in exit.LogLines())
            {
                if (!(worker.KilledAtStop && exit.Signal == Libc.SIGKILL))
                {
                    _log.Log(level, message);
                }
            }

            PublishMasterState(); // as Gunicorn's arbiter, child_exit sees server.WORKERS without the worker that left
            RunHook("child_exit", () => _options.Hooks.ChildExit?.Invoke(worker.Info));
            if (halt && exit.Halt is { } failure)
            {
                throw new StopMasterException(graceful: false, failure.Reason, failure.Code);
            }
        }
    }

    /// <summary>The restart cause the metrics count: what the master asked for, else what the exit says.</summary>
    private static string ExitCause(WorkerHandle worker, WorkerExit exit, bool retiring) =>
        exit.Halt is not null ? "boot_error"
        : worker.StopCause is { } cause ? cause
        : retiring && exit.ExitCode == 0 ? worker.RetireCauseName()
        : "crash";

    /// <summary>
    /// A serving worker whose heartbeat is older than timeout, or a booting one past its boot allowance
    /// (<see cref="WorkerTimeouts"/>), gets SIGABRT (it logs the stuck stack and runs worker_abort), then
    /// SIGKILL if it is still there. A worker told to stop gets graceful_timeout.
    /// </summary>
    private void MurderWorkers()
    {
        foreach (var worker in _workers.Values.ToList())
        {
            if (worker.AbortedAt is { } abortedAt)
            {
                if (Stopwatch.GetElapsedTime(abortedAt) > AbortGrace)
                {
                    KillWorker(worker.Pid, Libc.SIGKILL);
                }

                continue;
            }

            if (worker.StopSentAt is { } stopAt
                && Stopwatch.GetElapsedTime(stopAt) > TimeSpan.FromSeconds(_config.GracefulTimeout) + AbortGrace)
            {
                KillWorker(worker.Pid, Libc.SIGKILL);
                continue;
            }

            (long LastBeat, WorkerState State) beat;
            try
            {
                beat = worker.Heartbeat.Read();
            }
            catch (IOException)
            {
                continue;
            }

            var sinceSpawn = Stopwatch.GetElapsedTime(worker.SpawnedAt);
            var decision = WorkerTimeouts.Decide(beat.State, sinceSpawn, Stopwatch.GetElapsedTime(beat.LastBeat), _config.Timeout, _config.BootTimeout);
            if (decision != WorkerTimeout.None)
            {
                // Gunicorn's line first, so what operators grep for still matches; a boot says why.
                _log.Critical(decision == WorkerTimeout.Boot
                    ? $"WORKER TIMEOUT (pid:{worker.Pid}) while booting: not ready {sinceSpawn.TotalSeconds:0} s after it was started (boot_timeout {Math.Max(_config.Timeout, _config.BootTimeout)} s); is the app's import stuck?"
                    : $"WORKER TIMEOUT (pid:{worker.Pid})");
                worker.StopCause = decision == WorkerTimeout.Boot ? "boot_timeout" : "timeout";
                worker.AbortedAt = WorkerHeartbeat.Now;
                KillWorker(worker.Pid, Libc.SIGABRT);
            }
        }
    }
}
