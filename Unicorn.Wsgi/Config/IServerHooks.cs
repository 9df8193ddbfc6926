namespace Unicorn.Wsgi.Config;

/// <summary>What a hook sees of the master (Gunicorn's <c>server</c>/<c>arbiter</c> object), captured at the call.</summary>
/// <param name="Pid">The master's process id (<c>server.pid</c>).</param>
/// <param name="NumWorkers">The target number of workers (<c>server.num_workers</c>).</param>
/// <param name="Settings">The resolved settings (<c>server.cfg</c>).</param>
public sealed record HookServer(int Pid, int NumWorkers, Settings Settings);

/// <summary>What a hook sees of a worker (Gunicorn's <c>worker</c> object), captured at the call.</summary>
/// <param name="Pid">The worker's process id (<c>worker.pid</c>).</param>
/// <param name="Age">Its spawn sequence number (<c>worker.age</c>).</param>
/// <param name="Alive">False once it has been told to stop (<c>worker.alive</c>).</param>
/// <param name="ParentPid">The master's pid (<c>worker.ppid</c>).</param>
/// <param name="ExitCode">For <c>child_exit</c>: how it exited, when known.</param>
public sealed record HookWorker(int Pid, int Age, bool Alive, int ParentPid, int? ExitCode = null)
{
    /// <summary>In the worker process itself: requests it has handled (<c>worker.nr</c> when no request hook counts them).</summary>
    public long Requests { get; init; }

    /// <summary><c>max_requests</c> with this worker's jitter; 0 for no limit (Gunicorn shows <c>sys.maxsize</c>).</summary>
    public long MaxRequests { get; init; }

    /// <summary>In the worker process itself: its listening descriptors (<c>worker.sockets</c>, on duplicates).</summary>
    public IReadOnlyList<int>? Sockets { get; init; }

    /// <summary>In the worker process itself: its heartbeat file's descriptor (<c>worker.tmp</c>).</summary>
    public int? TmpFd { get; init; }
}

/// <summary>A listening socket of the master, as a hook sees it (one of Gunicorn's <c>server.LISTENERS</c>).</summary>
/// <param name="Fd">The master's descriptor (the hook gets a duplicate of it).</param>
/// <param name="Name">How Gunicorn prints it: <c>http://127.0.0.1:8000</c>, <c>unix:/run/app.sock</c>.</param>
public sealed record HookListener(int Fd, string Name);

/// <summary>
/// What the master's <c>server</c> object shows live, for hook code that reads it after its call returned (a thread
/// <c>when_ready</c> started, as Gunicorn's memory-watcher example does): <c>num_workers</c>, <c>WORKERS</c>,
/// <c>LISTENERS</c>, and <c>proc_name</c> (the arbiter's: <c>NAME.2</c> in a USR2 master until it is promoted; null
/// before the arbiter has said, when it is <c>cfg.proc_name</c>).
/// </summary>
public sealed record HookMasterState(int NumWorkers, IReadOnlyList<HookWorker> Workers, IReadOnlyList<HookListener> Listeners,
    string? ProcName = null);

/// <summary>
/// The server hooks of the config file, as the arbiter and the worker call them. Implemented by the Python bridge
/// (which builds Gunicorn-shaped <c>server</c>/<c>worker</c> objects from these snapshots); <see cref="NoServerHooks"/>
/// stands in when no hook is defined. Each method runs the hook synchronously on the calling thread and throws
/// <see cref="HookFailedException"/> after logging when it raises; what follows is the caller's: Gunicorn lets an
/// exception in a master hook stop the master, in <c>post_fork</c>/<c>post_worker_init</c> fail the worker's boot
/// (exit 3), and only logs one from <c>worker_exit</c>, <c>child_exit</c> or <c>nworkers_changed</c>.
/// <c>pre_request</c>/<c>post_request</c> take Python's request and environ, so the bridge runs them inside the request
/// itself; <c>ssl_context</c> belongs to the TLS set-up.
/// </summary>
public interface IServerHooks
{
    /// <summary>True when the config file defines <paramref name="hookName"/>, so callers skip work for default hooks.</summary>
    bool IsDefined(string hookName);

    /// <summary>
    /// In the master, each time its workers, listeners or worker count change: what every <c>server</c> object a hook
    /// was given shows from then on, from whichever thread reads it. Called on the arbiter's thread; must not block.
    /// </summary>
    void MasterChanged(HookMasterState state);

    // In the master.
    void OnStarting(HookServer server);

    void OnReload(HookServer server);

    void WhenReady(HookServer server);

    /// <returns>JSON of the attributes the hook set on the worker object, for the worker process; null when none.</returns>
    string? PreFork(HookServer server, HookWorker worker);

    void ChildExit(HookServer server, HookWorker worker);

    /// <param name="oldValue">Null the first time, as Gunicorn passes None.</param>
    void NumWorkersChanged(HookServer server, int newValue, int? oldValue);

    void PreExec(HookServer server);

    void OnExit(HookServer server);

    // In a worker.
    void PostFork(HookServer server, HookWorker worker);

    void PostWorkerInit(HookWorker worker);

    void WorkerInt(HookWorker worker);

    void WorkerAbort(HookWorker worker);

    void WorkerExit(HookServer server, HookWorker worker);
}
