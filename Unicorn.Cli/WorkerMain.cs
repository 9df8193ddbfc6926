using Unicorn.PythonBridge;
using Unicorn.PythonBridge.Reload;
using Unicorn.Wsgi.Arbiter;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;
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
        options = new WorkerProcessOptions
        {
            Log = log,
            Configure = settings =>
            {
                logging = LoggingSetup.Create(settings);
                log.Target = logging.ErrorLog;
                if (logging.WantsRequests)
                {
                    options!.AccessLog = logging.OnRequest;
                }
            },
            LoadApp = settings =>
            {
                runtime = PythonRuntime.Initialize(PythonLocator.FromEnvironmentOrLocate(), log, RuntimeOptions(settings));
                return PythonWsgiApplication.Load(runtime, settings.AppUri ?? throw new AppLoadException("No application module specified."), AppOptions(settings), log);
            },
            // As Gunicorn: a bad APP_MODULE (AppImportError) is exit 4; user code raising while it is
            // imported is a boot error, exit 3.
            IsAppLoadError = e => e is AppLoadException or AppImportException { PythonTraceback: null },
            DescribeBootError = e => e is AppImportException { PythonTraceback: { } tb } ? $"{e.Message}\n{tb}" : e.Message,
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
