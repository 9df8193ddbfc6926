using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>
/// Gunicorn's master-side server hooks, supplied by the Python bridge (they are Python callables from the
/// config file). Each is optional; an exception from one is logged and the master carries on.
/// </summary>
public sealed class MasterHooks
{
    public Action? OnStarting { get; init; }
    public Action? WhenReady { get; init; }
    /// <summary>Returns what the worker process's hooks get of the worker object pre_fork saw (HandOver.HookWorkerState).</summary>
    public Func<WorkerInfo, string?>? PreFork { get; init; }
    public Action<WorkerInfo>? ChildExit { get; init; }

    /// <summary>(new count, old count or null at start), as nworkers_changed.</summary>
    public Action<int, int?>? NWorkersChanged { get; init; }
    public Action? OnReload { get; init; }
    public Action? PreExec { get; init; }
    public Action? OnExit { get; init; }

    /// <summary>
    /// The workers (oldest first), listening sockets and process name, each time one changes: the hooks' <c>server</c>
    /// object shows them live (<c>server.WORKERS</c>, <c>server.LISTENERS</c>, <c>server.proc_name</c>: <c>NAME.2</c>
    /// in a USR2 master until it is promoted), as Gunicorn's arbiter object does.
    /// </summary>
    public Action<IReadOnlyList<WorkerInfo>, IReadOnlyList<ListeningSocket>, string>? MasterChanged { get; init; }
}
