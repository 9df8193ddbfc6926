using System.Diagnostics;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Arbiter;

public sealed partial class Arbiter
{
    internal static readonly int[] MasterSignals =
    [
        Libc.SIGHUP, Libc.SIGQUIT, Libc.SIGINT, Libc.SIGTERM, Libc.SIGTTIN, Libc.SIGTTOU, Libc.SIGUSR1,
        Libc.SIGUSR2, Libc.SIGWINCH, Libc.SIGCHLD,
    ];

    private void HandleSignal(int sig)
    {
        if (sig == Libc.SIGCHLD)
        {
            _log.Debug("Handling signal: chld");
            ReapWorkers();
            return;
        }

        _log.Info("Handling signal: " + Libc.SignalName(sig)[3..].ToLowerInvariant());
        switch (sig)
        {
            case Libc.SIGHUP:
                _log.Info("Hang up: " + _masterName);
                if (LastReloadBooting())
                {
                    // HUPs in a burst become one: each would start a full set that boots (hundreds of ms of CPU and
                    // tens of MiB each) only to be replaced by the next. Applied once the last set is up.
                    _hupDeferredSince ??= Stopwatch.GetTimestamp();
                    _log.Debug("Reload deferred until the workers of the last one have booted");
                }
                else
                {
                    Reload();
                }

                break;
            case Libc.SIGTERM:
                // A handler a master hook set (deregistering from service discovery, say) runs before the stop.
                RunHook("SIGTERM handler", () => _options.AppSignalHandler?.Invoke(Libc.SIGTERM));
                throw new StopMasterException(graceful: true);
            case Libc.SIGINT:
            case Libc.SIGQUIT:
                throw new StopMasterException(graceful: false);
            case Libc.SIGTTIN:
            case Libc.SIGTTOU:
                if (ChangeWorkerCount(sig == Libc.SIGTTIN ? 1 : -1))
                {
                    ManageWorkers();
                }

                break;
            case Libc.SIGUSR1:
                _options.ReopenLogs?.Invoke();
                KillWorkers(Libc.SIGUSR1);
                SignalDirtyArbiter(Libc.SIGUSR1);
                break;
            case Libc.SIGUSR2:
                Reexec();
                break;
            case Libc.SIGWINCH:
                if (_config.Daemon)
                {
                    _log.Info("graceful stop of workers");
                    SetNumWorkers(0);
                    StopWorkers(_workers.Keys.ToList(), Libc.SIGTERM);
                }
                else
                {
                    _log.Debug("SIGWINCH ignored. Not daemonized");
                }

                break;
            default:
                _log.Info($"Ignoring unknown signal: {sig}");
                break;
        }
    }

    /// <summary>
    /// TTIN/TTOU and the control socket's worker add/remove: the count moves by <paramref name="delta"/>, never below
    /// one worker. Returns whether it changed. Remembered while a HUP is deferred, to count again after it.
    /// </summary>
    private bool ChangeWorkerCount(int delta)
    {
        if (_hupDeferredSince is not null)
        {
            _countChangesAfterDeferredHup.Add(delta);
        }

        var total = Math.Max(1, _numWorkers + delta);
        if (total == _numWorkers)
        {
            return false;
        }

        SetNumWorkers(total);
        return true;
    }

    /// <summary>
    /// Closes the listeners, asks every worker to stop (TERM graceful, QUIT fast), waits up to
    /// graceful_timeout (cut to 2 s if INT/QUIT arrives meanwhile), then kills what is left.
    /// </summary>
    private void Stop(bool graceful)
    {
        var unlink = _reexecPid == 0 && _masterPid == 0 && !_systemd;
        foreach (var listener in _listeners)
        {
            listener.Close(unlink);
        }

        _listeners = [];

        // The zygote holds copies of the listeners too, and nothing is forked from here on: ended now, so that with
        // the workers' copies (closed as they are told to stop) a new connection is refused at once, as in Gunicorn,
        // rather than left in the listen queue until graceful_timeout. (A HUP keeps it; USR2's new master has its own.)
        StopZygote();
        _forking = false;
        var sig = graceful ? Libc.SIGTERM : Libc.SIGQUIT;
        foreach (var worker in _workers.Values)
        {
            worker.StopCause ??= "shutdown";
        }

        foreach (var spare in _spares.Values)
        {
            spare.StopSentAt ??= WorkerHeartbeat.Now; // and signalled with the workers
        }

        KillWorkers(sig);
        var deadline = Environment.TickCount64 + (_config.GracefulTimeout * 1000L);
        var quick = !graceful;
        var cut = false;
        while (_workers.Count + _spares.Count > 0 && Environment.TickCount64 < deadline)
        {
            // Woken by each worker's SIGCHLD, so the master leaves as its last worker does; else polls as Gunicorn's.
            foreach (var pending in _signals.Wait(TimeSpan.FromMilliseconds(100)))
            {
                if (!quick && pending is Libc.SIGINT or Libc.SIGQUIT)
                {
                    _log.Info("Quick shutdown requested");
                    quick = cut = true;
                    KillWorkers(Libc.SIGQUIT);
                    deadline = Math.Min(deadline, Environment.TickCount64 + 2000);
                }
            }

            ReapWorkers(halt: false);
        }

        foreach (var worker in _workers.Values)
        {
            // Its SIGKILL is not the kernel's ("Perhaps out of memory?"), but whatever it was serving is cut: say so.
            worker.KilledAtStop = true;
            var within = cut ? "2 s of the quick shutdown" : $"graceful_timeout ({_config.GracefulTimeout} s)";
            _log.Warning($"Worker (pid:{worker.Pid}) did not exit within {within}: sending SIGKILL");
        }

        KillWorkers(Libc.SIGKILL);
        var reapDeadline = Environment.TickCount64 + 1000;
        while (_workers.Count + _spares.Count > 0 && Environment.TickCount64 < reapDeadline)
        {
            ReapWorkers(halt: false);
            Thread.Sleep(10);
        }

        // After the HTTP workers, whose last requests may still call the dirty apps.
        StopDirtyArbiter(graceful && !quick);
    }
}
