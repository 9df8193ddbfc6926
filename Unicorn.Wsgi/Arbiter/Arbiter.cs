using System.Diagnostics;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.ProcessContract;
using Unicorn.Wsgi.Transport.Listeners;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>
/// The master process, after Gunicorn's arbiter: binds the listeners, writes the pidfile, starts the
/// workers (this executable again, in worker mode), then loops: wait for signals up to a second, handle
/// each, kill workers whose heartbeat stopped, keep the worker count. Split by concern across
/// Arbiter.*.cs.
/// </summary>
public sealed partial class Arbiter : IDisposable
{
    private static readonly TimeSpan LoopInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan CollectionInterval = TimeSpan.FromMinutes(1);
    // The first collection comes early: what start-up left (settings, the CLI, the first spawns) is garbage by then.
    private static readonly TimeSpan FirstCollectionAfter = TimeSpan.FromSeconds(10);

    private readonly ArbiterOptions _options;
    private readonly IErrorLog _log;
    private readonly SignalQueue _signals = new();
    private readonly Dictionary<int, WorkerHandle> _workers = [];
    private readonly string _startDirectory = Environment.CurrentDirectory;
    private readonly Dictionary<string, string?> _beforeRawEnv = []; // what raw_env's names were before it was set

    // The environment this master was started with, before the config file, SERVER_SOFTWARE and raw_env changed it:
    // a USR2 master starts from it (Gunicorn's cfg.env_orig), so the new config file's raw_env is the only one it has.
    private readonly Dictionary<string, string> _launchEnvironment = ProcessSpawner.CurrentEnvironment();

    // Read once: a container's memory limit does not change under a running master.
    private readonly Lazy<long?> _containerMemoryLimit = new(WorkerGcEnvironment.ContainerMemoryLimit);
    private string? _heapLimitLogged; // the last worker_heap_limit line logged (what WorkerGcEnvironment.Apply returned)
    private long _nextCollection = Stopwatch.GetTimestamp() + (long)(FirstCollectionAfter.TotalSeconds * Stopwatch.Frequency);
    private Settings _settings;
    private ProcessSettings _config;
    private List<Listener> _listeners = [];
    private PortSlots? _portSlots;
    private Pidfile? _pidfile;
    private int _numWorkers;
    private bool _numWorkersSet;
    private int _workerAge;
    private long _startFailedAt; // Stopwatch timestamp of the last worker that could not be started (0: none)
    private bool _workerStarted; // a worker or spare has been started since the master began
    private int _generation;
    private int _reportedWorkerCount = -1;
    private int _masterPid;
    private int _reexecPid;
    private bool _systemd;
    private string _masterName = "Master";
    private string _procName;
    private WorkerInfo[] _publishedWorkers = [];
    private List<Listener>? _publishedListeners;
    private string? _publishedProcName;

    private Arbiter(ArbiterOptions options)
    {
        _options = options;
        _log = options.Log;
        _settings = options.Settings;
        _config = ProcessSettings.From(_settings);
        _procName = _config.Name;
    }

    /// <summary>Runs the master until it stops; returns the process exit status.</summary>
    public static int Run(ArbiterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var arbiter = new Arbiter(options);
        return arbiter.RunMaster();
    }

    private int RunMaster()
    {
        try
        {
            if (Validate() is { } error)
            {
                _log.Error(error);
                return 1;
            }

            // As Gunicorn's daemonize(): a USR2 master (GUNICORN_FD set) stays the old master's child, so
            // it can tell when that parent exits and take over the pidfile; only a first start detaches.
            if (_config.Daemon && Environment.GetEnvironmentVariable(HandOver.Daemonized) != "1"
                && Environment.GetEnvironmentVariable(HandOver.GunicornFd) is null)
            {
                return Daemonize();
            }

            Start();
        }
        catch (Exception e) when (e is ListenerException or PidfileException or ArbiterException)
        {
            _log.Error(e.Message);
            Cleanup();
            return 1;
        }
        catch (AppLoadException e)
        {
            _log.Error(e.Message);
            Cleanup();
            return ExitCodes.AppLoadError;
        }

        try
        {
            ManageWorkers();
            PublishMasterState();
            StartControlServer();
            while (true)
            {
                MaybePromoteMaster();
                var signals = _signals.Wait(LoopInterval);
                _signalsTakenAt = Stopwatch.GetTimestamp();
                foreach (var sig in signals)
                {
                    HandleSignal(sig);
                }

                RunControlCalls();

                ReceiveUpgradeReady();
                ReapWorkers();
                ApplyDeferredReload();
                ManageDirtyArbiter();
                CheckZygote();
                MurderWorkers();
                RecycleLargeWorkers();
                PublishMasterState(); // reaped workers leave server.WORKERS before pre_fork replaces them, as in Gunicorn
                ManageWorkers();
                PublishMasterState();
                AnnounceUpgradeReady();
                CollectGarbage();
            }
        }
        catch (StopMasterException stop)
        {
            return Halt(stop.Reason, stop.ExitCode, stop.Graceful);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.Exception("Unhandled exception in main loop", e.ToString());
            StopControlServer();
            Stop(graceful: false);
            _pidfile?.Unlink();
            return 255;
        }
    }

    /// <summary>
    /// The loop allocates ~1.3 KiB/s of short-lived garbage, and the GC's default gen0 budget here is ~16 MiB:
    /// left alone, the first collection comes hours in and the master's RSS climbs until then
    /// (bench/results/soak-trends.md). One collection a minute of a heap this small costs well under a
    /// millisecond and keeps the master flat. The first comes 10 s after start (1-1.5 MiB less PSS from then).
    /// </summary>
    private void CollectGarbage()
    {
        if (Stopwatch.GetTimestamp() >= _nextCollection)
        {
            // Aggressive: also decommit the free gen0 space, which a plain collection keeps mapped (a HUP's
            // garbage otherwise holds ~12 MiB of the master's RSS).
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            // The same for native memory: glibc keeps what the runtime freed in per-thread arenas.
            Libc.TrimMalloc();
            _nextCollection = Stopwatch.GetTimestamp() + (long)(CollectionInterval.TotalSeconds * Stopwatch.Frequency);
        }
    }

    private string? Validate()
    {
        try
        {
            ProcessIdentity.Resolve(_config);
        }
        catch (ArbiterException e)
        {
            return e.Message;
        }

        return null;
    }

    private void Start()
    {
        // The environment and directory first: Gunicorn has chdir'd and set SERVER_SOFTWARE before its arbiter sets
        // num_workers (calling nworkers_changed) while it is set up, so that hook sees what the next ones see.
        ApplyEnvironment(_settings);

        if (_config.Chdir is { } chdir)
        {
            try
            {
                Environment.CurrentDirectory = chdir;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ArbiterException($"Error: can't chdir to '{chdir}': {e.Message}");
            }
        }

        SetNumWorkers(_config.Workers);
        LogCurrentConfiguration();
        _log.Info($"Starting unicorn {_options.Version}");
        if (int.TryParse(Environment.GetEnvironmentVariable(HandOver.GunicornPid), out var parent) && parent > 0)
        {
            _masterPid = parent;
            _procName += ".2";
            _masterName = "Master.2";
        }

        TakeUpgradeReadyFd();

        CheckWorkerTmpDir();

        // With worker_start = fork the zygote imports the app, once, after the listeners exist; a --paste app it cannot
        // preload is built here, so a factory that raises stops the master as Gunicorn's --preload does.
        if (_config.PreloadApp && (!_settings.ForkWorkers || _settings.PasteUri is not null))
        {
            _options.PreloadApp?.Invoke(_settings);
        }

        if (_config.Pidfile is { } pidname)
        {
            _pidfile = new Pidfile(_masterPid != 0 ? pidname + ".2" : pidname);
            _pidfile.Create(Environment.ProcessId);
        }

        try
        {
            _options.Hooks.OnStarting?.Invoke();
        }
        catch (HookFailedException e)
        {
            // Already logged with its Python traceback; Gunicorn stops here with "Error: ..." and exit 1.
            throw new ArbiterException($"Error: {e.Message}");
        }

        _signals.Register(MasterSignals);
        _listeners = CreateListeners();
        OpenPortSlots();
        _log.Debug("Arbiter booted");
        _log.Info($"Listening at: {ListeningAt()} ({Environment.ProcessId})");
        _log.Info($"Using worker: {_settings.WorkerClassDisplay}");
        if (_options.PythonDescription is { } python)
        {
            _log.Info($"Using Python: {python}");
        }

        StartZygote();

        Systemd.Notify("READY=1\nSTATUS=Unicorn arbiter booted", _log);
        SetProcTitle();
        PublishMasterState();
        RunHook("when_ready", _options.Hooks.WhenReady);
        StartDirtyArbiter();
    }

    private void LogCurrentConfiguration()
    {
        if (_log.IsEnabled(LogLevel.Debug))
        {
            _log.Debug(PrintConfig.RenderCurrent(_settings));
        }
    }

    /// <summary>
    /// Every worker's heartbeat file is created in <c>worker_tmp_dir</c>: a directory that cannot hold one stops
    /// the master at start with one line, as Gunicorn's master stops (RuntimeError: DIR doesn't exist. Can't
    /// create workertmp.). Found only when spawning, a missing directory left the master retrying every second
    /// with no worker, and one it may not write to ended the main loop with a .NET stack trace.
    /// </summary>
    private void CheckWorkerTmpDir()
    {
        if (WorkerTmpDirProblem(_config.WorkerTmpDir) is { } problem)
        {
            throw new ArbiterException("Error: " + problem);
        }
    }

    /// <summary>Why <paramref name="dir"/> cannot hold a heartbeat file, or null when it can (or is not set).</summary>
    private static string? WorkerTmpDirProblem(string? dir)
    {
        if (dir is null)
        {
            return null;
        }

        if (!Directory.Exists(dir))
        {
            return $"{dir} doesn't exist. Can't create workertmp.";
        }

        try
        {
            WorkerHeartbeat.Create(dir).Dispose();
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"can't create workertmp in {dir}: {e.Message}";
        }
    }

    private List<Listener> CreateListeners()
    {
        var options = _config.ListenerOptions();
        var systemdFds = Systemd.ListenFds();
        if (systemdFds > 0)
        {
            _systemd = true;
            return [.. Enumerable.Range(Systemd.ListenFdsStart, systemdFds).Select(fd => ListenerBinder.Adopt(fd, options, ownsUnixPath: false))];
        }

        if (_masterPid != 0 && Environment.GetEnvironmentVariable(HandOver.GunicornFd) is { } inherited)
        {
            Unset(HandOver.GunicornFd);
            _systemd = Environment.GetEnvironmentVariable(HandOver.SystemdFds) == "1";
            return [.. HandOver.ParseFds(inherited).Select(fd => ListenerBinder.Adopt(fd, options, ownsUnixPath: !_systemd))];
        }

        var addresses = _config.Addresses;
        if (!_config.ReusePort)
        {
            return ListenerBinder.Bind(addresses, options, _log);
        }

        // reuse_port: the TCP addresses are bound once per worker slot (OpenPortSlots); unix and fd listeners are
        // shared as usual.
        return ListenerBinder.Bind(SharedAddresses(_config), options, _log);
    }

    private static List<ListenAddress> TcpAddresses(ProcessSettings config) => [.. config.Addresses.Where(a => a.Kind == ListenAddressKind.Tcp)];

    /// <summary>
    /// reuse_port: the worker slots' sockets for the TCP addresses, the first slot bound now (none without it); a USR2
    /// master takes over the old master's.
    /// </summary>
    private void OpenPortSlots()
    {
        _portSlots?.Dispose();
        _portSlots = null;
        var inherited = _masterPid != 0 ? HandOver.ParseSlots(Environment.GetEnvironmentVariable(HandOver.PortSlots)) : [];
        Environment.SetEnvironmentVariable(HandOver.PortSlots, null);
        if (_config.ReusePort && TcpAddresses(_config).Count > 0)
        {
            _portSlots = new PortSlots(TcpAddresses(_config), _config.ListenerOptions(), _log);
            _portSlots.Open(inherited);
        }
        else
        {
            inherited.SelectMany(fds => fds).ToList().ForEach(fd => Libc.close(fd)); // reuse_port is off now
        }
    }

    /// <summary>What the "Listening at" line names: the shared listeners and, with reuse_port, the TCP addresses.</summary>
    private string ListeningAt() => string.Join(',', Listening());

    /// <summary>
    /// The shared listeners and, with reuse_port, the first slot's sockets, in <c>bind</c>'s order where the two
    /// lists come from it (not inherited from systemd or a parent master).
    /// </summary>
    private List<Listener> Listening()
    {
        var slot = _portSlots?.First ?? [];
        var addresses = _config.Addresses;
        if (slot.Count == 0 || addresses.Count != _listeners.Count + slot.Count || TcpAddresses(_config).Count != slot.Count)
        {
            return [.. _listeners, .. slot];
        }

        var (shared, own) = (0, 0);
        return [.. addresses.Select(a => a.Kind == ListenAddressKind.Tcp ? slot[own++] : _listeners[shared++])];
    }

    /// <summary>
    /// Whether a worker given a port slot still accepts from it for good: not told to stop, not retiring or recycled,
    /// not from before the last HUP. A new worker takes the slot of one that does not.
    /// </summary>
    private bool AcceptsForItsSlot(int pid) =>
        _workers.TryGetValue(pid, out var worker) && worker.StopSentAt is null && worker.Generation == _generation
        && worker.Snapshot().State != WorkerState.Retiring;

    private void SetProcTitle() => Libc.SetThreadName("unicorn: master");

    private void SetNumWorkers(int value)
    {
        int? old = _numWorkersSet ? _numWorkers : null;
        _numWorkers = value;
        _numWorkersSet = true;
        RunHook("nworkers_changed", () => _options.Hooks.NWorkersChanged?.Invoke(value, old));
    }

    /// <summary>
    /// The master's environment from <paramref name="settings"/>, as Gunicorn's arbiter sets its os.environ at start and
    /// on a reload: what the last raw_env changed is put back (a name a HUP drops is the master's own again), then what
    /// the config file's module level set in os.environ, SERVER_SOFTWARE (raw_env can change it) and raw_env go in. The
    /// zygote and every worker inherit them; the master's Python is told each name's final value.
    /// </summary>
    private void ApplyEnvironment(Settings settings)
    {
        var touched = new List<string>(_beforeRawEnv.Keys) { "SERVER_SOFTWARE" };
        foreach (var (name, value) in _beforeRawEnv)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        _beforeRawEnv.Clear();
        foreach (var (name, value) in settings.ConfigFileEnvironment)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        Environment.SetEnvironmentVariable("SERVER_SOFTWARE", $"unicorn/{_options.Version}");
        foreach (var pair in settings.RawEnv)
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                var name = pair[..eq];
                _beforeRawEnv.TryAdd(name, Environment.GetEnvironmentVariable(name));
                Environment.SetEnvironmentVariable(name, pair[(eq + 1)..]);
                touched.Add(name);
            }
        }

        _options.EnvironmentChanged?.Invoke(
            [.. touched.Distinct(StringComparer.Ordinal).Select(n => new KeyValuePair<string, string?>(n, Environment.GetEnvironmentVariable(n)))]);
    }

    /// <summary>Takes a USR2 hand-over name out of the master's environment and its Python's, as Gunicorn pops it from os.environ.</summary>
    private void Unset(string name)
    {
        Environment.SetEnvironmentVariable(name, null);
        _options.EnvironmentChanged?.Invoke([new(name, null)]);
    }

    /// <summary>
    /// Tells the hooks when the workers or listeners changed since they were last told: after each spawn, before and
    /// after the loop manages the workers (so a worker spawned or reaped shows within the second, and pre_fork sees
    /// the workers Gunicorn's would), and before when_ready (so it sees the bound listeners).
    /// </summary>
    private void PublishMasterState()
    {
        // With reuse_port, server.LISTENERS shows the first slot's sockets, as Gunicorn's master's own.
        var listeners = Listening();
        if (_options.Hooks.MasterChanged is not { } changed || (_publishedListeners is { } published && published.SequenceEqual(listeners) && SameWorkersPublished()
            && _publishedProcName == _procName))
        {
            return;
        }

        _publishedWorkers = [.. _workers.Values.Select(w => w.Info).OrderBy(w => w.Age)];
        _publishedListeners = listeners;
        _publishedProcName = _procName;
        RunHook("server state", () => changed(_publishedWorkers, [.. listeners.Select(l => new ListeningSocket(l.Fd, l.ToString()))], _procName));
    }

    private bool SameWorkersPublished()
    {
        if (_workers.Count != _publishedWorkers.Length)
        {
            return false;
        }

        foreach (var worker in _publishedWorkers)
        {
            if (!_workers.ContainsKey(worker.Pid))
            {
                return false;
            }
        }

        return true;
    }

    private void RunHook(string name, Action? hook)
    {
        if (hook is null)
        {
            return;
        }

        try
        {
            hook();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.Exception($"Exception in {name} hook", e.ToString());
        }
    }

    /// <summary>Stops workers, logs the shutdown, removes the pidfile, runs on_exit.</summary>
    private int Halt(string? reason, int exitCode, bool graceful)
    {
        HandMainPidBack();
        StopControlServer();
        Stop(graceful);
        var level = exitCode == 0 ? LogLevel.Info : LogLevel.Error;
        _log.Log(level, "Shutting down: " + _masterName);
        if (reason is not null)
        {
            _log.Log(level, "Reason: " + reason);
        }

        _pidfile?.Unlink();
        StopZygote();
        PublishMasterState(); // on_exit sees the workers and listeners gone, as Gunicorn's arbiter shows them
        RunHook("on_exit", _options.Hooks.OnExit);
        return exitCode;
    }

    /// <summary>Undo what a failed start left behind: listeners (and unix socket files), pidfile.</summary>
    private void Cleanup()
    {
        foreach (var listener in _listeners)
        {
            listener.Close(unlink: _masterPid == 0 && !_systemd);
        }

        _listeners = [];
        _portSlots?.Dispose();
        _pidfile?.Unlink();
        StopZygote();
    }

    public void Dispose()
    {
        StopControlServer();
        StopZygote();
        _signals.Dispose();
        foreach (var worker in _workers.Values.Concat(_spares.Values))
        {
            worker.Dispose();
        }

        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }

        _portSlots?.Dispose();
    }
}
