using Unicorn.PythonBridge;
using Unicorn.PythonBridge.ConfigFile;
using Unicorn.PythonBridge.Logging;
using Unicorn.PythonBridge.Reload;
using Unicorn.Wsgi.Arbiter;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Hooks;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.ProcessContract;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Cli;

/// <summary>A worker process: started by the master, it imports the app and serves.</summary>
internal static class WorkerMain
{
    public static int Run()
    {
        var log = new ForwardingErrorLog(new StderrErrorLog());
        LoggingServices? logging = null;
        PythonRuntime? runtime = null;
        WorkerProcessOptions? options = null;
        PythonServerHooks? serverHooks = null;
        ServerHookBridge? bridge = null;
        WorkerHooks? hooks = null;
        WorkerInfo? self = null;
        options = new WorkerProcessOptions
        {
            Log = log,
            Configure = settings =>
            {
                // A Python log config needs Python before anything is logged through it.
                logging = LoggingSetup.Create(settings, config =>
                {
                    runtime = PythonRuntime.Initialize(PythonLocator.FromEnvironmentOrLocate(), log, RuntimeOptions(settings));
                    return PythonLogging.Configure(runtime, config);
                });
                log.Target = logging.ErrorLog;
                if (logging.WantsRequests)
                {
                    options!.AccessLog = logging.OnRequest;
                }

                if (logging.Metrics is { } metrics)
                {
                    options!.SampleLoad = metrics.Sample;
                }

                // post_fork runs before the app loads, so Python starts here when the config file has hooks.
                if (PythonServerHooks.HasHooks(settings))
                {
                    runtime = PythonRuntime.Initialize(PythonLocator.FromEnvironmentOrLocate(), log, RuntimeOptions(settings));
                    serverHooks = PythonServerHooks.Load(settings, log, Directory.GetCurrentDirectory());
                    bridge = ServerHookBridge.ForWorker(serverHooks, settings);
                    hooks = bridge.CreateWorkerHooks();
                }
            },
            Hooks = new WorkerHooks
            {
                PostFork = w => { self = w; hooks?.PostFork?.Invoke(w); },
                PostWorkerInit = w => hooks?.PostWorkerInit?.Invoke(w),
                WorkerInt = w => hooks?.WorkerInt?.Invoke(w),
                WorkerAbort = w => hooks?.WorkerAbort?.Invoke(w),
                WorkerExit = w => hooks?.WorkerExit?.Invoke(w),
            },
            LoadApp = settings =>
            {
                runtime = PythonRuntime.Initialize(PythonLocator.FromEnvironmentOrLocate(), log, RuntimeOptions(settings));
                var app = PasteDeployLoader.LoadApplication(runtime, settings, AppOptions(settings), log, Directory.GetCurrentDirectory());
                return HookedApplication.IsNeeded(settings, serverHooks)
                    ? new HookedApplication(app, serverHooks, settings.Get<bool>("spew"), () => bridge!.Snapshot(self ?? new WorkerInfo(Environment.ProcessId, 0)))
                    : app;
            },
            // As Gunicorn: a bad APP_MODULE (AppImportError) is exit 4; user code raising while it is
            // imported is a boot error, exit 3.
            IsAppLoadError = e => e is AppLoadException or AppImportException { PythonTraceback: null },
            DescribeBootError = e => e switch
            {
                AppImportException { PythonTraceback: { } tb } => $"{e.Message}\n{tb}",
                _ => e.Message,
            },
            DumpPythonStacks = () => runtime?.DumpThreadStacks() ?? "",
            ReopenLogs = () => logging?.Reopen(),
            ModuleSource = () => new PythonModuleSource(runtime!),
        };

        try
        {
            return WorkerProcess.Run(options);
        }
        finally
        {
            // Python's own exit work (atexit, logging.shutdown, flushing) runs on this thread, last.
            serverHooks?.Dispose();
            logging?.BeforePythonShutdown();
            runtime?.Shutdown();
            logging?.Dispose();
        }
    }

    internal static PythonRuntimeOptions RuntimeOptions(Settings settings) => new()
    {
        Chdir = settings.Chdir,
        PythonPath = settings.PythonPathEntries,
        Env = settings.RawEnv,
    };

    internal static WsgiAppOptions AppOptions(Settings settings) => new()
    {
        Multithread = settings.WorkerClass != "sync" && settings.Threads > 1,
        Multiprocess = settings.Workers > 1,
    };
}
