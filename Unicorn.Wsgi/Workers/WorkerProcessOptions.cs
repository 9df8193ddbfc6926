using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Workers;

/// <summary>What a worker process needs from the program: the app loader and the Python-side callbacks.</summary>
public sealed class WorkerProcessOptions
{
    public required IErrorLog Log { get; init; }

    /// <summary>Imports the app (after the worker dropped privileges). An <see cref="AppLoadException"/>
    /// (or anything <see cref="IsAppLoadError"/> accepts) exits with status 4, anything else with 3.</summary>
    public required Func<Settings, ILoadedApp> LoadApp { get; init; }

    public Func<Exception, bool> IsAppLoadError { get; init; } = e => e is AppLoadException;

    /// <summary>The text logged for a boot failure (the bridge gives the Python traceback).</summary>
    public Func<Exception, string> DescribeBootError { get; init; } = e => e.ToString();

    /// <summary>The settings JSON from the master back into <see cref="Settings"/>.</summary>
    public Func<string, Settings> DeserializeSettings { get; init; } = HandOver.DeserializeSettings;

    /// <summary>Called with the settings before the app loads, to apply them to the program (e.g. to configure logging).</summary>
    public Action<Settings>? Configure { get; init; }

    /// <summary>One access-log entry per finished request (null: no access log). Settable so that
    /// <see cref="Configure"/>, which builds the logs from the settings, can provide it.</summary>
    public Action<AccessLogEntry>? AccessLog { get; set; }

    /// <summary>Each heartbeat tick: (Python threads, busy threads, queued requests), for the metrics gauges.
    /// Settable for the same reason as <see cref="AccessLog"/>.</summary>
    public Action<int, int, long>? SampleLoad { get; set; }

    /// <summary>USR1: reopen log files.</summary>
    public Action? ReopenLogs { get; init; }

    /// <summary>ABRT, before the worker leaves without its normal shutdown: writes the access lines still queued.</summary>
    public Action? FlushLogs { get; init; }

    /// <summary>
    /// As the graceful stop begins (TERM): runs the TERM handler application code set, off the signal loop, so a
    /// handler that blocks or waits for the GIL does not hold up the stop.
    /// </summary>
    public Action<int>? AppSignalHandler { get; init; }

    /// <summary>ABRT after a timeout: the Python stacks of every thread, for the error log.</summary>
    public Func<string>? DumpPythonStacks { get; init; }

    /// <summary>--reload: the loaded modules' files and a compile check, from Python (called once, after the app loads).</summary>
    public Func<Reload.IModuleSource>? ModuleSource { get; init; }

    /// <summary>worker_spares: compiles the request path while the spare is parked (<see cref="JitWarmUp"/>) until told to stop; returns the method count.</summary>
    public Func<CancellationToken, int>? WarmUp { get; init; }

    /// <summary>
    /// worker_spares: the app a parked spare's synthetic requests reach (<see cref="Worker.WarmUp"/>), built
    /// in-process and never the user's; null: no synthetic requests.
    /// </summary>
    public Func<Settings, ILoadedApp>? WarmUpApp { get; init; }

    public WorkerHooks Hooks { get; init; } = new();

    /// <summary>Called once the worker that will serve is built (before post_worker_init): what hooks read of it.</summary>
    public Action<Worker>? WorkerCreated { get; init; }
}

/// <summary>Gunicorn's worker-side server hooks (Python callables from the config file).</summary>
public sealed class WorkerHooks
{
    /// <summary>post_fork: the worker process has started (before the app loads).</summary>
    public Action<WorkerInfo>? PostFork { get; init; }

    public Action<WorkerInfo>? PostWorkerInit { get; init; }

    /// <summary>worker_int: INT or QUIT received.</summary>
    public Action<WorkerInfo>? WorkerInt { get; init; }

    /// <summary>worker_abort: ABRT received (the master's timeout).</summary>
    public Action<WorkerInfo>? WorkerAbort { get; init; }

    public Action<WorkerInfo>? WorkerExit { get; init; }
}
