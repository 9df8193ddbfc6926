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
            var pid = _dirty!.Spawn(_settings, ProcessIdentity.Resolve(_config));
            _log.Info($"Spawned dirty arbiter (pid: {pid}) at {_dirty.SocketPath}");
        }
        catch (IOException e)
        {
            throw new ArbiterException($"Error: cannot start the dirty arbiter: {e.Message}");
        }
    }

    /// <summary>Reaps the dirty arbiter if it exited, and starts another (a boot failure stops the master).</summary>
    private void ManageDirtyArbiter()
    {
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
