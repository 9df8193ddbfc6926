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
    /// The workers (oldest first) and listening sockets, each time either changes: the hooks' <c>server</c> object shows
    /// them live (<c>server.WORKERS</c>, <c>server.LISTENERS</c>), as Gunicorn's arbiter object does.
    /// </summary>
    public Action<IReadOnlyList<WorkerInfo>, IReadOnlyList<ListeningSocket>>? MasterChanged { get; init; }
}
