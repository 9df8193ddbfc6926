using System.Diagnostics;
using System.Globalization;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.ProcessContract;
using Unicorn.Wsgi.Transport.Listeners;

namespace Unicorn.Wsgi.Arbiter;

public sealed partial class Arbiter
{
    // A deferred HUP waits at most this long for the last reload's workers to boot (an import that hangs until
    // boot_timeout must not hold up the HUP that fixes it).
    private static readonly TimeSpan HupDeferral = TimeSpan.FromSeconds(5);

    private long? _hupDeferredSince;

    // Worker-count changes (TTIN/TTOU, the control socket's worker add/remove) that came after a deferred HUP: applied
    // at once, and again on top of the count the reload sets, so the end count is Gunicorn's (its HUP resets
    // num_workers to `workers`, and the changes after it still count).
    private readonly List<int> _countChangesAfterDeferredHup = [];

    /// <summary>Whether workers of the current generation are still booting (the previous HUP's set, or the first).</summary>
    private bool LastReloadBooting() =>
        _workers.Values.Any(w => w.Generation == _generation && w.StopSentAt is null && w.Snapshot().State == WorkerState.Booting);

    /// <summary>The main loop's turn for a HUP deferred by <see cref="LastReloadBooting"/>.</summary>
    private void ApplyDeferredReload()
    {
        if (_hupDeferredSince is { } since && (!LastReloadBooting() || Stopwatch.GetElapsedTime(since) >= HupDeferral))
        {
            _hupDeferredSince = null;
            var replay = _countChangesAfterDeferredHup.ToList();
            _countChangesAfterDeferredHup.Clear();
            if (Reload())
            {
                foreach (var delta in replay)
                {
                    ChangeWorkerCount(delta);
                }
            }
        }
    }

    /// <summary>
    /// HUP: re-read the configuration, reopen logs, rebind if the addresses changed, apply the dirty_*
    /// settings, then start a full set of new workers; the old ones are stopped gracefully as the new ones
    /// become ready. When the configuration cannot be reloaded the dirty arbiter still gets the HUP (it
    /// replaces its workers), as in Gunicorn.
    /// </summary>
    private bool Reload()
    {
        if (!ReloadConfiguration())
        {
            SignalDirtyArbiter(Libc.SIGHUP);
            return false;
        }

        return true;
    }

    private bool ReloadConfiguration()
    {
        Settings next;
        try
        {
            next = _options.ReloadSettings?.Invoke() ?? _settings;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.Error("Error reloading the configuration, keeping the current one: " + e.Message);
            return false;
        }

        var nextConfig = ProcessSettings.From(next);
        if (nextConfig.WorkerTmpDir != _config.WorkerTmpDir && WorkerTmpDirProblem(nextConfig.WorkerTmpDir) is { } problem)
        {
            // No new worker could start: keep the running ones (Gunicorn's master dies in its main loop).
            _log.Error("Error reloading the configuration, keeping the current one: " + problem);
            return false;
        }

        if (!TryReloadLogs(next))
        {
            return false;
        }

        if (next.ForkWorkers && _options.Zygote is not null)
        {
            // The zygote preloads only an APP_MODULE: a --paste app is checked here, as at start.
            if (nextConfig.PreloadApp && next.PasteUri is not null && !TryPreload(next))
            {
                return false;
            }

            // The new zygote imports the new app (--preload) before anything else changes.
            if (!ReloadZygote(next))
            {
                return false;
            }
        }
        else if (nextConfig.PreloadApp && !TryPreload(next))
        {
            return false;
        }

        if (!next.ForkWorkers || _options.Zygote is null)
        {
            StopZygote();
            _forking = false;
        }

        var oldConfig = _config;
        _settings = next;
        _config = nextConfig;
        ApplyEnvironment(next); // the file ran again: a HUP's new workers see what it and raw_env set now
        _reloads++;
        SetNumWorkers(_config.Workers); // in Gunicorn's setup(), before on_reload sees the server
        LogCurrentConfiguration();
        if (oldConfig.ControlSocket != _config.ControlSocket || oldConfig.ControlSocketMode != _config.ControlSocketMode)
        {
            StopControlServer();
            StartControlServer();
        }

        _procName = _masterPid != 0 ? _config.Name + ".2" : _config.Name;

        if (!oldConfig.Bind.SequenceEqual(_config.Bind) && !_systemd)
        {
            var fresh = Rebind(oldConfig);
            foreach (var listener in _listeners.Where(l => !fresh.Contains(l)))
            {
                listener.Close(unlink: !fresh.Any(f => f.UnixPath == listener.UnixPath));
            }

            _listeners = fresh;
            if (_config.ReusePort && !TcpAddresses(oldConfig).SequenceEqual(TcpAddresses(_config)))
            {
                // The old slots' last workers drain them as they stop; new workers get slots of the new addresses.
                try
                {
                    OpenPortSlots();
                }
                catch (ListenerException e)
                {
                    throw new StopMasterException(graceful: false, e.Message, exitCode: 1);
                }
            }

            _log.Info("Listening at: " + ListeningAt());
            if (_forking)
            {
                // Workers inherit their listeners from the zygote: it must hold the new ones.
                StopZygote();
            }
        }

        PublishMasterState();
        RunHook("on_reload", _options.Hooks.OnReload);
        if (oldConfig.Pidfile != _config.Pidfile || _pidfile is null != (_config.Pidfile is null))
        {
            _pidfile?.Unlink();
            _pidfile = null;
            if (_config.Pidfile is { } pidname)
            {
                _pidfile = new Pidfile(_masterPid != 0 ? pidname + ".2" : pidname);
                _pidfile.Create(Environment.ProcessId);
            }
        }

        SetProcTitle();
        DiscardSpares();
        _generation++;

        // Before the new workers start: they inherit the pool's socket (or its absence).
        ReloadDirtyArbiter();

        // The workers running now are replaced: mark them retiring-by-reload by stopping them only
        // once the new set is ready (WorkerPlan counts them as surplus, oldest first).
        for (var i = 0; i < _config.Workers; i++)
        {
            SpawnWorker();
        }

        ManageWorkers();
        return true;
    }

    /// <summary>The master loads the reloaded app (<c>--preload</c>); one that fails stops the reload.</summary>
    private bool TryPreload(Settings next)
    {
        try
        {
            _options.PreloadApp?.Invoke(next);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.Error("Error reloading the application, keeping the current workers: " + e.Message);
            return false;
        }
    }

    /// <summary>
    /// The master's own logs follow the reloaded settings. Logs that cannot be built (a bad level, a file that
    /// cannot open) stop the reload: new workers would fail to boot on them.
    /// </summary>
    private bool TryReloadLogs(Settings next)
    {
        if (_options.ReloadLogs is not { } reload)
        {
            _options.ReopenLogs?.Invoke();
            return true;
        }

        try
        {
            reload(next);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.Error("Error reloading the log configuration, keeping the current one: " + e.Message);
            return false;
        }
    }

    /// <summary>
    /// USR2: start a new master from the same program and arguments, handing it the listeners through
    /// GUNICORN_FD (and the reuse_port slots through UNICORN_PORT_SLOTS) and this pid through GUNICORN_PID. Both run
    /// until the operator stops one.
    /// </summary>
    private void Reexec()
    {
        if (_reexecPid != 0)
        {
            _log.Warning("USR2 signal ignored. Child exists.");
            return;
        }

        if (_masterPid != 0)
        {
            _log.Warning("USR2 signal ignored. Parent exists.");
            return;
        }

        try
        {
            _options.Hooks.PreExec?.Invoke();
        }
        catch (HookFailedException e)
        {
            // Gunicorn runs pre_exec in the forked child, which dies with it: no new master, this one serves on.
            _log.Error($"Error: {e.Message}; the new master is not started");
            return;
        }

        // What this master was launched with, not what it has now: its raw_env, SERVER_SOFTWARE, what its config file
        // set and the dirty arbiter's socket would outlive an upgrade that drops them. What a USR2 or systemd gave it is
        // replaced below.
        var env = new Dictionary<string, string>(_launchEnvironment, StringComparer.Ordinal);
        foreach (var name in new[] { HandOver.Daemonized, HandOver.SystemdFds, HandOver.PortSlots, HandOver.UpgradeReadyFd, "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES" })
        {
            env.Remove(name);
        }

        env[HandOver.GunicornPid] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        env[HandOver.GunicornFd] = HandOver.FormatFds(_listeners.Select(l => l.Fd));
        if (_systemd)
        {
            env[HandOver.SystemdFds] = "1";
        }

        // Close-on-exec otherwise (no other child may hold one): inheritable for this spawn alone.
        List<int> slotFds = [.. _portSlots?.AllFds.SelectMany(fds => fds) ?? []];
        if (_portSlots is { } slots)
        {
            env[HandOver.PortSlots] = HandOver.FormatSlots(slots.AllFds);
        }

        // Under systemd: the pipe on which the new master says it serves (Arbiter.MainPid.cs).
        var readyFd = OpenUpgradeReadyPipe();
        if (readyFd >= 0)
        {
            env[HandOver.UpgradeReadyFd] = readyFd.ToString(CultureInfo.InvariantCulture);
            slotFds.Add(readyFd);
        }

        var (path, args) = Executable();
        try
        {
            slotFds.ForEach(fd => Libc.SetInheritable(fd, true));
            _reexecPid = ProcessSpawner.Spawn(new SpawnRequest
            {
                Path = path,
                Argv = [path, .. args],
                Environment = env,
                WorkingDirectory = _startDirectory,
            });
        }
        catch (IOException e)
        {
            _log.Error("USR2 re-exec failed: " + e.Message);
            CloseUpgradeReadyRead();
        }
        finally
        {
            slotFds.ForEach(fd => Libc.SetInheritable(fd, false));
            if (readyFd >= 0)
            {
                _ = Libc.close(readyFd); // the new master's alone: its exit is then the pipe's end
            }
        }
    }

    /// <summary>A USR2 master whose parent exited takes over: its own name and the configured pidfile.</summary>
    private void MaybePromoteMaster()
    {
        if (_masterPid == 0 || _masterPid == Libc.getppid())
        {
            return;
        }

        _log.Info("Master has been promoted.");
        _masterName = "Master";
        _masterPid = 0;
        CloseUpgradeReadyWrite();
        _procName = _config.Name;
        Unset(HandOver.GunicornPid);
        if (_pidfile is not null && _config.Pidfile is { } pidname)
        {
            try
            {
                _pidfile.Rename(pidname);
            }
            catch (PidfileException e)
            {
                _log.Error(e.Message);
            }
        }

        SetProcTitle();
    }

    /// <summary>
    /// -D: .NET cannot fork, so the master starts itself again in a new session with stdio on /dev/null
    /// (as Gunicorn's double fork leaves it) and this process exits at once with status 0. With
    /// <c>enable_stdio_inheritance</c>, as in Gunicorn, only stdin and a stdout or stderr that is a terminal are.
    /// </summary>
    private int Daemonize()
    {
        var env = ProcessSpawner.CurrentEnvironment();
        env[HandOver.Daemonized] = "1";
        var (path, args) = Executable();
        try
        {
            ProcessSpawner.Spawn(new SpawnRequest
            {
                Path = path,
                Argv = [path, .. args],
                Environment = env,
                NewSession = true,
                NullFds = _settings.EnableStdioInheritance ? [0, .. new[] { 1, 2 }.Where(fd => Libc.isatty(fd) == 1)] : [0, 1, 2],
            });
        }
        catch (IOException e)
        {
            _log.Error("Error: cannot daemonize: " + e.Message);
            return 1;
        }

        return 0;
    }

    /// <summary>
    /// HUP with a changed <c>bind</c>: the listeners of addresses kept are kept (the workers and the zygote hold them
    /// too, so binding them again would find them in use); only new addresses are bound. An address that cannot be
    /// bound stops the master with Gunicorn's one line, as it does at start. With reuse_port the TCP addresses are the
    /// port slots' (<see cref="OpenPortSlots"/>), not shared listeners.
    /// </summary>
    private List<Listener> Rebind(ProcessSettings oldConfig)
    {
        var options = _config.ListenerOptions();
        var current = SharedAddresses(oldConfig).Zip(_listeners).ToList();
        var kept = new List<Listener>();
        var added = new List<Listener>();
        try
        {
            foreach (var address in SharedAddresses(_config))
            {
                var same = current.FirstOrDefault(c => c.First == address && c.Second.IsSsl == options.IsSsl).Second;
                if (same is not null && !kept.Contains(same))
                {
                    kept.Add(same);
                    continue;
                }

                var bound = ListenerBinder.Bind([address], options, _log)[0];
                added.Add(bound);
                kept.Add(bound);
            }
        }
        catch (ListenerException e)
        {
            foreach (var listener in added)
            {
                listener.Close(unlink: true);
            }

            throw new StopMasterException(graceful: false, e.Message, exitCode: 1);
        }

        return kept;
    }

    private static IEnumerable<ListenAddress> SharedAddresses(ProcessSettings config) =>
        config.ReusePort ? config.Addresses.Where(a => a.Kind != ListenAddressKind.Tcp) : config.Addresses;
}
