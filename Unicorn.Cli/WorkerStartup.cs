using Unicorn.PythonBridge;
using Unicorn.PythonBridge.Asgi;
using Unicorn.PythonBridge.ConfigFile;
using Unicorn.PythonBridge.Logging;
using Unicorn.PythonBridge.Reload;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Hooks;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.ProcessContract;
using Unicorn.Wsgi.Workers;
using Unicorn.Wsgi.Workers.Reload;

namespace Unicorn.Cli;

/// <summary>
/// What the program gives a worker process, as steps in the order <see cref="WorkerProcess"/> calls them:
/// configure (logs, then the config file's hooks), post_fork, load the app, post_worker_init; while
/// serving, the signal-driven calls; last, <see cref="Dispose"/> runs Python's exit work. What one step
/// makes (the Python runtime, the hooks) is a field the later steps read.
/// </summary>
internal sealed class WorkerStartup : IDisposable
{
    private readonly ForwardingErrorLog _log = new(new StderrErrorLog());
    private readonly WorkerProcessOptions _options;
    private LoggingServices? _logging;
    private PythonRuntime? _runtime;
    private bool _errorLoggerRouted;
    private bool _configSnapshotInstalled;
    private AccessLogGate? _accessGate;
    private PythonServerHooks? _serverHooks;
    private ServerHookBridge? _hookBridge;
    private WorkerHooks? _hooks;
    private WorkerInfo? _self;
    private Worker? _worker;
    private string? _greenlets; // the greenlet library, under -k gevent or -k eventlet

    public WorkerStartup()
    {
        _options = new WorkerProcessOptions
        {
            Log = _log,
            Configure = Configure,
            Hooks = new WorkerHooks
            {
                PostFork = PostFork,
                PostWorkerInit = PostWorkerInit,
                WorkerInt = w => _hooks?.WorkerInt?.Invoke(w),
                WorkerAbort = w => _hooks?.WorkerAbort?.Invoke(w),
                WorkerExit = w => _hooks?.WorkerExit?.Invoke(w),
            },
            LoadApp = LoadApp,
            WorkerCreated = w => _worker = w,
            IsAppLoadError = IsAppLoadError,
            DescribeBootError = DescribeBootError,
            DumpPythonStacks = DumpPythonStacks,
            ReopenLogs = ReopenLogs,
            // Within the 2 s the master gives an aborted worker before its SIGKILL.
            FlushLogs = () => _logging?.AccessLog.Flush(TimeSpan.FromSeconds(1)),
            AppSignalHandler = sig => _runtime?.RunAppSignalHandler(sig),
            ModuleSource = ModuleSource,
            WarmUp = WarmUp,
            WarmUpApp = s => new WsgiOnlyApp(PythonWsgiApplication.WarmUp(StartPython(s), WorkerMain.AppOptions(s), _log)),
        };
    }

    public int Run() => WorkerProcess.Run(_options);

    // 1. The settings from the master: logs first, then the config file's hooks.
    private void Configure(Settings settings)
    {
        ConfigureLogging(settings);
        // The config file's module level runs unpatched, as in Gunicorn, whose master runs it before a worker patches:
        // a gevent patch subscriber it registers (dify's) sees the patching happen.
        LoadServerHooks(settings);
        PatchForGreenlets(settings);
    }

    private void ConfigureLogging(Settings settings)
    {
        // A Python log config needs Python before anything is logged through it.
        _logging = LoggingSetup.Create(settings, config => PythonLogging.Configure(StartPython(settings), config));
        _log.Target = _logging.ErrorLog;
        if (_logging.WantsRequests)
        {
            _options.AccessLog = _logging.OnRequest;
        }

        if (_logging.Metrics is { } metrics)
        {
            _options.SampleLoad = metrics.Sample;
        }
    }

    // As Gunicorn's gevent and eventlet workers: monkey-patch before the app is imported, so what it imports at
    // module level is already cooperative.
    private void PatchForGreenlets(Settings settings)
    {
        var workerClass = settings.EffectiveWorkerClass;
        if (WorkerClasses.IsGreenlet(workerClass))
        {
            PythonGreenlets.Patch(StartPython(settings), workerClass);
            _greenlets = workerClass;
        }
    }

    private void LoadServerHooks(Settings settings)
    {
        // post_fork runs before the app loads, so Python starts here when the config file has hooks.
        if (PythonServerHooks.HasHooks(settings, worker: true, debug: ((IErrorLog)_log).IsEnabled(LogLevel.Debug)))
        {
            StartPython(settings);
            _serverHooks = PythonServerHooks.Load(settings, _log, Directory.GetCurrentDirectory(), worker: true);
            _hookBridge = ServerHookBridge.ForWorker(_serverHooks, settings, OwnState(settings));
            _hooks = _hookBridge.CreateWorkerHooks();
        }
    }

    // What the worker process's own hook object shows beyond the snapshot: Gunicorn's worker.nr, max_requests (with
    // jitter once the worker is built; the setting before), sockets (the inherited listeners and reuse_port slot) and
    // tmp (the heartbeat).
    private Func<HookWorker, HookWorker> OwnState(Settings settings)
    {
        List<int> sockets = [.. HandOver.ParseFds(Environment.GetEnvironmentVariable(HandOver.ListenFds)),
            .. HandOver.ParseFds(Environment.GetEnvironmentVariable(HandOver.PortFds))];
        int? tmp = int.TryParse(Environment.GetEnvironmentVariable(HandOver.HeartbeatFd), System.Globalization.CultureInfo.InvariantCulture, out var fd) ? fd : null;
        return w => w with
        {
            Requests = _worker?.RequestCount ?? 0,
            MaxRequests = _worker?.MaxRequests ?? settings.MaxRequests,
            Sockets = sockets,
            TmpFd = tmp,
        };
    }

    // 2. post_fork, with this worker's pid and age, which the request hooks' server object shows later.
    private void PostFork(WorkerInfo worker)
    {
        _self = worker;
        if (_greenlets is { } library)
        {
            // On the hub's thread (Workers/Hosts/HubThread): from here on, what Python starts belongs to the hub it runs.
            _runtime!.KeepThreadState();
            PythonGreenlets.AdoptHubThread(_runtime, library);
        }

        _hooks?.PostFork?.Invoke(worker);
    }

    // 3. The app, inside the request hooks when the config file has any.
    private ILoadedApp LoadApp(Settings settings)
    {
        var app = PasteDeployLoader.LoadApplication(StartPython(settings), settings, WorkerMain.AppOptions(settings), _log, Directory.GetCurrentDirectory());
        _serverHooks?.AppLoaded(app); // worker.wsgi in post_worker_init and the hooks after it
        if (settings.EffectiveWorkerClass == WorkerClasses.Asgi)
        {
            // The event loop runs the request hooks and spew itself; the WSGI form runs on no thread.
            var asgiHooks = HookedApplication.IsNeeded(settings, _serverHooks)
                ? new AsgiRequestHooks(_serverHooks, settings.Spew, () => _hookBridge!.Snapshot(_self ?? new WorkerInfo(Environment.ProcessId, 0)))
                : null;
            return new PythonLoadedApp(app, app) { AsgiHooks = asgiHooks };
        }

        if (settings.EffectiveWorkerClass == WorkerClasses.Tornado)
        {
            // Gunicorn's tornado worker never calls them; refused rather than silently skipped (docs/differences.md).
            if (HookedApplication.IsNeeded(settings, _serverHooks))
            {
                throw new AppLoadException("pre_request, post_request and spew are not supported with the tornado worker class (Gunicorn's tornado worker does not run them either)");
            }

            // The host runs the app as tornado serves it: an Application directly, WSGI through WSGIContainer.
            return new PythonLoadedApp(PythonTornado.Adapt(app, WorkerMain.AppOptions(settings)), app);
        }

        HookWorker Self() => _hookBridge?.Snapshot(_self ?? new WorkerInfo(Environment.ProcessId, 0))
            ?? new HookWorker(Environment.ProcessId, 0, true, Environment.ProcessId);

        if (WorkerClasses.IsGreenlet(settings.EffectiveWorkerClass))
        {
            // As Gunicorn's async workers: the hooks run in the request's greenlet, spew on the hub's thread.
            var hooks = GreenletRequestHooks.IsNeeded(settings, _serverHooks) ? new GreenletRequestHooks(_serverHooks, settings.Spew, Self) : null;
            return new PythonLoadedApp(app, app) { GreenletHooks = hooks };
        }

        IWsgiApplication wsgi = HookedApplication.IsNeeded(settings, _serverHooks)
            ? new HookedApplication(app, _serverHooks, settings.Spew, Self)
            : app;
        return new PythonLoadedApp(app, wsgi);
    }

    // As Gunicorn: a bad APP_MODULE (AppImportError) is exit 4; user code raising while it is imported is
    // a boot error, exit 3.
    private static bool IsAppLoadError(Exception e) => e is AppLoadException or AppImportException { PythonTraceback: null };

    private static string DescribeBootError(Exception e) => e switch
    {
        AppImportException { PythonTraceback: { } tb } => $"{e.Message}\n{tb}",
        _ => e.Message,
    };

    // A parked spare: the request path of both assemblies, from the accept loop to the Python call. Not the
    // HTTP/2 types: compiling them loads Kestrel, which a worker without h2 never maps.
    private static int WarmUp(CancellationToken leaving) => JitWarmUp.Prepare(
        [typeof(Worker).Assembly, typeof(PythonRuntime).Assembly],
        t => (t.Namespace is "Unicorn.Wsgi.Http" or "Unicorn.Wsgi.Application" or "Unicorn.Wsgi.Connections" or "Unicorn.Wsgi.Workers"
                or "Unicorn.Wsgi.Workers.Hosts" or "Unicorn.PythonBridge.Native"
                || (t.Namespace == "Unicorn.PythonBridge" && t.Name.StartsWith("PythonWsgi", StringComparison.Ordinal)))
            && !t.Name.StartsWith("Http2", StringComparison.Ordinal) && !t.Name.StartsWith("PriorKnowledge", StringComparison.Ordinal),
        leaving);

    // 4. post_worker_init, after the app loaded. By now the config file, the hooks and the app have done what they
    // do to the gunicorn.access logger: if they changed it, access lines go through it from the first request on.
    private void PostWorkerInit(WorkerInfo worker)
    {
        _hooks?.PostWorkerInit?.Invoke(worker);
        if (_accessGate is { } gate && gate.Customized())
        {
            _logging!.UseAccessGate(gate);
            ((IErrorLog)_log).Debug("The gunicorn.access logger has the app's filters, handlers or level: access lines go through it");
        }
    }

    // 5. While serving: --reload's module list (once, after the app loads), USR1, ABRT.
    private IModuleSource ModuleSource() => new PythonModuleSource(_runtime!);

    private void ReopenLogs() => _logging?.Reopen();

    private string DumpPythonStacks()
    {
        var threads = _runtime?.DumpThreadStacks() ?? "";
        if (_runtime is null || _greenlets is null)
        {
            return threads;
        }

        // Gunicorn's async workers die on timeout with every greenlet's stack: the suspended ones are not threads.
        var greenlets = PythonGreenlets.DumpStacks(_runtime, TimeSpan.FromSeconds(2));
        return greenlets.Length == 0 ? threads : threads + "\n" + greenlets;
    }

    /// <summary>Python's own exit work (atexit, logging.shutdown, flushing) runs on this thread, last.</summary>
    public void Dispose()
    {
        _serverHooks?.Dispose();
        _logging?.BeforePythonShutdown();
        _accessGate?.Dispose();
        _runtime?.Shutdown();
        _logging?.Dispose();
    }

    /// <summary>
    /// Starts Python on first use; later calls return the same runtime. Once the logs are set up without a Python
    /// log config, the <c>gunicorn.error</c> logger writes to this worker's error log before any hook or app code
    /// runs (apps copy its handlers at import).
    /// </summary>
    private PythonRuntime StartPython(Settings settings)
    {
        var runtime = _runtime = PythonRuntime.Initialize(PythonLocator.FromEnvironmentOrLocate(), _log, WorkerMain.RuntimeOptions(settings));
        if (!_configSnapshotInstalled && settings is { ConfigFile: { } file, ConfigFileSource: { } source })
        {
            _configSnapshotInstalled = true;
            ConfigFileSnapshot.Install(runtime, file, source);
        }

        if (!_errorLoggerRouted && _logging is { Python: null })
        {
            _errorLoggerRouted = true;
            ErrorLogFunction.RouteGunicornErrorLogger(runtime, _log, settings.LogLevel ?? "info");
            if (_logging.AccessLog.WritesLines)
            {
                _accessGate = AccessLogGate.Install(runtime, settings.AccessLog);
            }
        }

        return runtime;
    }
}
