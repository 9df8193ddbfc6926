using Unicorn.PythonBridge;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.ProcessContract;
using Unicorn.Wsgi.Workers.Hosts;

namespace Unicorn.Cli;

/// <summary>A worker process: started by the master, it imports the app and serves.</summary>
internal static class WorkerMain
{
    /// <summary>Runs the worker's steps (<see cref="WorkerStartup"/>), then Python's exit work.</summary>
    public static int Run()
    {
        NativeGcLimit.Apply();
        using var startup = new WorkerStartup();
        return startup.Run();
    }

    internal static PythonRuntimeOptions RuntimeOptions(Settings settings) => new()
    {
        Chdir = settings.Chdir,
        LaunchDirectory = settings.LaunchDirectory,
        PythonPath = settings.PythonPathEntries,
        Env = settings.RawEnv,
        Unset = HandOver.WorkerOnlyNames(),
        Argv = settings.ProgramArgv.Count > 0 ? [.. settings.ProgramArgv] : null,
    };

    internal static WsgiAppOptions AppOptions(Settings settings) => new()
    {
        // The worker class's host says whether requests share the interpreter from several threads; greenlets run
        // them concurrently on one, which Gunicorn's async workers also call multithreaded.
        Multithread = AppHosts.For(settings).IsMultithread(settings) || WorkerClasses.IsGreenlet(settings.EffectiveWorkerClass),
        OneAppThread = !AppHosts.For(settings).IsMultithread(settings),
        Multiprocess = settings.Workers > 1,
        // The stand-in app is WSGI: the asgi and tornado workers load theirs another way.
        ServeSyntaxErrors = settings.Reload && AppHosts.RunsWsgi(settings),
    };
}
