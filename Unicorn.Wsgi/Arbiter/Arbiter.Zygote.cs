using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Arbiter;

public sealed partial class Arbiter
{
    private Zygote? _zygote;

    /// <summary>True while workers come from the zygote: worker_start = fork and it could be started.</summary>
    private bool _forking;

    /// <summary>
    /// worker_start = fork: starts the zygote once the listeners exist (it inherits them). Without one,
    /// says why in one line and spawns workers; with --preload it then imports the app here, as spawn does.
    /// </summary>
    private void StartZygote()
    {
        _forking = false;
        if (!_settings.ForkWorkers)
        {
            return;
        }

        try
        {
            if (_options.Zygote is null)
            {
                throw new ZygoteUnavailableException(_options.ZygoteUnavailable ?? "no Python interpreter to run it");
            }

            _zygote = NewZygote(_settings);
            _forking = true;
            _log.Debug($"Forking workers from zygote (pid: {_zygote.Pid})");
        }
        catch (ZygoteUnavailableException e)
        {
            _log.Warning($"Cannot start the zygote ({e.Message}); spawning workers instead");
            if (_config.PreloadApp && _settings.PasteUri is null) // a paste app was built already (Start)
            {
                _options.PreloadApp?.Invoke(_settings);
            }
        }
    }

    private Zygote NewZygote(Settings settings)
    {
        var app = new ZygoteApp(
            Environment.CurrentDirectory,
            settings.PythonPathEntries,
            settings.PreloadApp && settings.PasteUri is null ? settings.AppUri : null,
            Logging.LoggingSetup.PythonConfig(settings) is null ? settings.LogLevel ?? "info" : null,
            settings.LaunchDirectory,
            WorkerClasses.LibraryOf(settings.EffectiveWorkerClass),
            settings.ProgramArgv);
        var timeout = TimeSpan.FromSeconds(settings.BootTimeout);
        // Each worker gets its environment from the master; the zygote takes the workers' .NET tuning out of its
        // own before it imports the app, as a worker does.
        var env = WorkerEnvironmentBase();
        NameWorkerOnly(env);
        return Zygote.Start(_options.Zygote!, app, [.. _listeners.Select(l => l.Fd)], env, timeout, _log);
    }

    /// <summary>
    /// Forks a worker from the zygote; a zygote that died or stopped answering is replaced once (one
    /// log line), and when that fails too this worker is spawned. Null: spawn this one.
    /// </summary>
    private int? ForkWorker(Dictionary<string, string> env, IReadOnlyList<int> fds, string title)
    {
        if (!_forking)
        {
            return null;
        }

        for (var attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                if (_zygote is null)
                {
                    // Stopped on purpose (a HUP that changed bind, or one that failed above): no warning.
                    _zygote = NewZygote(_settings);
                    _log.Debug($"Forking workers from zygote (pid: {_zygote.Pid})");
                }
                else if (_zygote.HasExited())
                {
                    ReplaceZygote($"(pid: {_zygote.Pid}) exited ({_zygote.Describe()})");
                }

                return _zygote!.Fork(env, fds, title);
            }
            catch (ZygoteUnavailableException e)
            {
                // Killed since the last look, the zygote fails the fork itself (EPIPE): the next attempt starts a new
                // one, so say that, as a zygote found dead before the fork is said; a second failure spawns instead.
                var who = _zygote is { } dead ? $"Zygote (pid: {dead.Pid})" : "Zygote";
                if (attempt == 0)
                {
                    _log.Warning($"{who} failed: {e.Message}; starting a new one");
                }
                else
                {
                    _log.Error($"{who} failed: {e.Message}; spawning the worker instead");
                }

                _zygote?.Dispose();
                _zygote = null;
            }
            catch (Exception e) when (e is AppLoadException or ArbiterException)
            {
                _log.Error($"Cannot restart the zygote: {e.Message}");
                return null;
            }
        }

        return null;
    }

    private void ReplaceZygote(string why)
    {
        _log.Warning($"Zygote {why}; starting a new one");
        _zygote?.Dispose();
        _zygote = null;
        _zygote = NewZygote(_settings);
        _log.Debug($"Forking workers from zygote (pid: {_zygote.Pid})");
    }

    /// <summary>
    /// HUP with worker_start = fork: a new zygote for the new settings and app, taken only when it is
    /// ready; the old one stops. Returns false (logged) when the new app cannot be imported.
    /// </summary>
    private bool ReloadZygote(Settings next)
    {
        if (!next.ForkWorkers || _options.Zygote is null)
        {
            _zygote?.Dispose();
            _zygote = null;
            _forking = false;
            return true;
        }

        try
        {
            var fresh = NewZygote(next);
            _zygote?.Dispose();
            _zygote = fresh;
            _forking = true;
            _log.Debug($"Forking workers from zygote (pid: {_zygote.Pid})");
            return true;
        }
        catch (Exception e) when (e is AppLoadException or ArbiterException)
        {
            _log.Error("Error reloading the application, keeping the current workers: " + e.Message);
            return false;
        }
        catch (ZygoteUnavailableException e)
        {
            _log.Warning($"Cannot start the zygote ({e.Message}); spawning workers instead");
            _zygote?.Dispose();
            _zygote = null;
            _forking = false;
            return true;
        }
    }

    /// <summary>A zygote that died is replaced at once, so the next worker does not wait for it.</summary>
    private void CheckZygote()
    {
        if (!_forking || _zygote is null || !_zygote.HasExited())
        {
            return;
        }

        try
        {
            ReplaceZygote($"(pid: {_zygote.Pid}) exited ({_zygote.Describe()})");
        }
        catch (Exception e) when (e is ZygoteUnavailableException or AppLoadException or ArbiterException)
        {
            // ForkWorker tries again for each worker, and spawns it when the zygote still cannot start.
            _log.Error($"Cannot restart the zygote: {e.Message}");
        }
    }

    private void StopZygote()
    {
        _zygote?.Dispose();
        _zygote = null;
    }
}
