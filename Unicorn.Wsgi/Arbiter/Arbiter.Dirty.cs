using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Arbiter;

// The dirty arbiter, as Gunicorn 26's arbiter runs it: started before the HTTP workers when dirty_apps and
// dirty_workers are set, respawned when it dies, told about HUP/USR1, stopped with the workers.
public sealed partial class Arbiter
{
    /// <summary>Exit status of a dirty arbiter whose apps cannot load: the master stops, as for a worker's.</summary>
    private const int DirtyAppLoadError = ExitCodes.AppLoadError;

    private DirtyArbiterProcess? _dirty;

    // Started by a HUP: apps that cannot load stop this pool, not the server.
    private bool _dirtyFromReload;

    // A dirty arbiter a HUP turned off: it finishes its calls (dirty_graceful_timeout), then is reaped or killed.
    private DirtyArbiterProcess? _retiredDirty;
    private long _retiredDirtyDeadline;

    /// <summary>The dirty arbiter's pid, 0 when none runs.</summary>
    internal int DirtyArbiterPid => _dirty?.Pid ?? 0;

    private void StartDirtyArbiter()
    {
        if (!_settings.DirtyEnabled)
        {
            return;
        }

        var launch = _options.DirtyArbiter ?? throw new ArbiterException("Error: dirty_apps is set but this program cannot start a dirty arbiter");

        _dirty = new DirtyArbiterProcess(launch);
        // The control socket's show dirty / dirty add|remove reach this process through the pool.
        if (_options.DirtyPool is DirtyPool pool)
        {
            pool.Process = _dirty;
        }

        // Inherited by every HTTP worker: the client finds the pool here, as under Gunicorn.
        Environment.SetEnvironmentVariable("GUNICORN_DIRTY_SOCKET", _dirty.SocketPath);
        SpawnDirtyArbiter();
    }

    private void SpawnDirtyArbiter()
    {
        try
        {
            var pid = _dirty!.Spawn(_settings, ProcessIdentity.Resolve(_config), _procName, [.. _listeners.Select(l => l.Fd)]);
            _log.Info($"Spawned dirty arbiter (pid: {pid}) at {_dirty.SocketPath}");
        }
        catch (IOException e)
        {
            throw new ArbiterException($"Error: cannot start the dirty arbiter: {e.Message}");
        }
    }

    /// <summary>The control socket's view of the pool while a dirty arbiter runs.</summary>
    private Control.IDirtyPool? RunningDirtyPool => _dirty is null ? null : _options.DirtyPool;

    /// <summary>
    /// HUP, after the settings were reloaded: a pool now configured starts (as Gunicorn's loop starts one), a
    /// pool no longer configured stops gracefully, and a running pool gets the new dirty_* settings with the
    /// HUP (the dirty arbiter replaces its workers with them and keeps the stash).
    /// </summary>
    private void ReloadDirtyArbiter()
    {
        if (_dirty is null)
        {
            try
            {
                StartDirtyArbiter();
                _dirtyFromReload = true;
            }
            catch (ArbiterException e)
            {
                _log.Error(e.Message);
                DropDirtyArbiter();
            }

            return;
        }

        if (!_settings.DirtyEnabled)
        {
            RetireDirtyArbiter();
            return;
        }

        try
        {
            _dirty.WriteReload(_settings, _procName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Error($"Cannot pass the reloaded settings to the dirty arbiter, it keeps its own: {e.Message}");
        }

        SignalDirtyArbiter(Libc.SIGHUP);
    }

    /// <summary>Forgets a dirty arbiter that is not running (its directory goes); new workers find no pool.</summary>
    private void DropDirtyArbiter()
    {
        _dirty?.Dispose();
        _dirty = null;
        _dirtyFromReload = false;
        if (_options.DirtyPool is DirtyPool pool)
        {
            pool.Process = null;
        }

        Environment.SetEnvironmentVariable("GUNICORN_DIRTY_SOCKET", null);
    }

    private void RetireDirtyArbiter()
    {
        var dirty = _dirty!;
        _log.Info($"Stopping dirty arbiter (pid: {dirty.Pid}): dirty_apps or dirty_workers is no longer set");
        if (_retiredDirty is not null)
        {
            KillRetiredDirtyArbiter();
        }

        dirty.Signal(Libc.SIGTERM);
        _retiredDirty = dirty;
        _retiredDirtyDeadline = Environment.TickCount64 + (_settings.DirtyGracefulTimeout * 1000L) + 3000;
        _dirty = null;
        // Workers started from now on find no pool.
        DropDirtyArbiter();
    }

    /// <summary>Reaps the retired dirty arbiter once it exits; past its allowance it is killed.</summary>
    private void ReapRetiredDirtyArbiter()
    {
        if (_retiredDirty is not { } retired)
        {
            return;
        }

        if (retired.TryReap(out _) || retired.Pid == 0)
        {
            _log.Info($"Dirty arbiter (pid:{retired.LastPid}) exited");
            retired.Dispose();
            _retiredDirty = null;
        }
        else if (Environment.TickCount64 > _retiredDirtyDeadline)
        {
            retired.Signal(Libc.SIGKILL);
            _retiredDirtyDeadline = long.MaxValue;
        }
    }

    private void KillRetiredDirtyArbiter()
    {
        var retired = _retiredDirty!;
        retired.Signal(Libc.SIGKILL);
        var deadline = Environment.TickCount64 + 1000;
        while (retired.Pid != 0 && Environment.TickCount64 < deadline && !retired.TryReap(out _))
        {
            Thread.Sleep(10);
        }

        retired.Dispose();
        _retiredDirty = null;
    }

    /// <summary>Reaps the dirty arbiter if it exited, and starts another (a boot failure stops the master).</summary>
    private void ManageDirtyArbiter()
    {
        ReapRetiredDirtyArbiter();
        if (_dirty is null || !_dirty.TryReap(out var status))
        {
            return;
        }

        var exit = new WorkerExit(0, status);
        var pid = _dirty.LastPid;
        if (exit.Signal is { } sig)
        {
            _log.Warning($"Dirty arbiter (pid:{pid}) killed by signal {sig}");
        }
        else if (exit.ExitCode is { } code and not 0)
        {
            _log.Error($"Dirty arbiter (pid:{pid}) exited with code {code}");
            if (code == DirtyAppLoadError && _dirtyFromReload)
            {
                _log.Error("Dirty app failed to load: no dirty arbiter runs until a HUP with dirty_apps that load");
                DropDirtyArbiter();
                return;
            }

            if (code == DirtyAppLoadError)
            {
                throw new StopMasterException(graceful: true, "Dirty app failed to load.", ExitCodes.AppLoadError);
            }
        }
        else
        {
            _log.Info($"Dirty arbiter (pid:{pid}) exited");
        }

        _log.Info("Spawning dirty arbiter...");
        SpawnDirtyArbiter();
    }

    private void SignalDirtyArbiter(int sig) => _dirty?.Signal(sig);

    /// <summary>Stops the dirty arbiter within dirty_graceful_timeout (it stops its own workers), then kills it.</summary>
    private void StopDirtyArbiter(bool graceful)
    {
        if (_retiredDirty is not null)
        {
            KillRetiredDirtyArbiter();
        }

        if (_dirty is null)
        {
            return;
        }

        _dirty.Signal(graceful ? Libc.SIGTERM : Libc.SIGQUIT);
        // Its own workers get dirty_graceful_timeout; it needs a little more to reap them and log.
        var deadline = Environment.TickCount64 + ((graceful ? _settings.DirtyGracefulTimeout : 2) * 1000L) + 3000;
        while (_dirty.Pid != 0 && Environment.TickCount64 < deadline && !_dirty.TryReap(out _))
        {
            Thread.Sleep(50);
        }

        if (_dirty.Pid != 0)
        {
            _dirty.Signal(Libc.SIGKILL);
            var reapDeadline = Environment.TickCount64 + 1000;
            while (Environment.TickCount64 < reapDeadline && !_dirty.TryReap(out _))
            {
                Thread.Sleep(10);
            }
        }

        _dirty.Dispose();
        _dirty = null;
        Environment.SetEnvironmentVariable("GUNICORN_DIRTY_SOCKET", null);
    }
}
