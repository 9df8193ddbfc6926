using Unicorn.Wsgi.Arbiter;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.ProcessContract;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Hooks;

/// <summary>
/// Connects an <see cref="IServerHooks"/> (the config file's hooks) to the arbiter's <see cref="MasterHooks"/> and the
/// worker's <see cref="WorkerHooks"/>, keeping what Gunicorn's <c>server</c> object shows (pid, num_workers, cfg,
/// WORKERS, LISTENERS) up to date. Hooks that run only at start or in a worker get a delegate only when defined. After a
/// reload, <see cref="Update"/> swaps in the new hooks and settings. A hook that raised has already been logged with its Python traceback; master hooks and
/// <c>worker_int</c>/<c>worker_abort</c>/<c>worker_exit</c> then carry on (docs/differences.md), while
/// <c>on_starting</c> rethrows so the master stops, <c>pre_exec</c> so USR2 starts no new master, and <c>post_fork</c> and <c>post_worker_init</c> so the worker
/// fails to boot, as in Gunicorn.
/// </summary>
public sealed class ServerHookBridge
{
    private readonly int _masterPid;
    private IServerHooks _hooks;
    private Settings _settings;
    private int _numWorkers;
    private IReadOnlyList<HookWorker> _workers = [];
    private IReadOnlyList<HookListener> _listeners = [];
    private string? _procName;

    private readonly Func<HookWorker, HookWorker>? _own;

    private ServerHookBridge(IServerHooks hooks, Settings settings, int masterPid, Func<HookWorker, HookWorker>? own = null)
    {
        _own = own;
        _hooks = hooks;
        _settings = settings;
        _masterPid = masterPid;
        _numWorkers = settings.Workers;
    }

    /// <summary>In the master.</summary>
    public static ServerHookBridge ForMaster(IServerHooks hooks, Settings settings) => new(hooks, settings, Environment.ProcessId);

    /// <summary>
    /// In a worker: the master is the parent process. <paramref name="own"/> adds what only the worker process knows of
    /// itself (<c>nr</c>, <c>max_requests</c>, <c>sockets</c>, <c>tmp</c>) to each of its hooks' worker snapshots.
    /// </summary>
    public static ServerHookBridge ForWorker(IServerHooks hooks, Settings settings, Func<HookWorker, HookWorker>? own = null) =>
        new(hooks, settings, Libc.getppid(), own);

    /// <summary>After SIGHUP: the re-read config file's hooks and the new settings.</summary>
    public void Update(IServerHooks hooks, Settings settings)
    {
        ArgumentNullException.ThrowIfNull(hooks);
        ArgumentNullException.ThrowIfNull(settings);
        _hooks = hooks;
        _settings = settings;
        PublishMaster(); // the reloaded hooks' server objects see the same master
    }

    public MasterHooks CreateMasterHooks() => new()
    {
        // Rethrows: a raising on_starting stops the master before it binds, as in Gunicorn.
        OnStarting = _hooks.IsDefined("on_starting") ? () => _hooks.OnStarting(Server()) : null,
        WhenReady = _hooks.IsDefined("when_ready") ? () => Quietly(() => _hooks.WhenReady(Server())) : null,
        // The hooks below can run after a HUP, when the reloaded file's hooks are the ones to run (Gunicorn reads
        // them from its new cfg): whether each is defined is asked at the call.
        OnReload = () => IfDefined("on_reload", () => _hooks.OnReload(Server())),
        PreExec = () =>
        {
            if (_hooks.IsDefined("pre_exec"))
            {
                _hooks.PreExec(Server()); // rethrows: no re-exec
            }
        },
        OnExit = () => IfDefined("on_exit", () => _hooks.OnExit(Server())),
        PreFork = w =>
        {
            string? state = null;
            IfDefined("pre_fork", () => state = _hooks.PreFork(Server(), Worker(w)));
            return state;
        },
        ChildExit = w => IfDefined("child_exit", () => _hooks.ChildExit(Server(), Worker(w, alive: false))),
        // Always tracked: server.num_workers must be right in every other hook.
        NWorkersChanged = (value, old) =>
        {
            _numWorkers = value;
            PublishMaster();
            IfDefined("nworkers_changed", () => _hooks.NumWorkersChanged(Server(), value, old));
        },
        MasterChanged = (workers, listeners, procName) =>
        {
            _workers = [.. workers.Select(w => Worker(w))];
            _listeners = [.. listeners.Select(l => new HookListener(l.Fd, l.Name))];
            _procName = procName;
            PublishMaster();
        },
    };

    public WorkerHooks CreateWorkerHooks() => new()
    {
        PostFork = _hooks.IsDefined("post_fork") ? w => _hooks.PostFork(Server(), Worker(w)) : null,
        PostWorkerInit = _hooks.IsDefined("post_worker_init") ? w => _hooks.PostWorkerInit(Worker(w)) : null,
        WorkerInt = _hooks.IsDefined("worker_int") ? w => Quietly(() => _hooks.WorkerInt(Worker(w))) : null,
        WorkerAbort = _hooks.IsDefined("worker_abort") ? w => Quietly(() => _hooks.WorkerAbort(Worker(w))) : null,
        WorkerExit = _hooks.IsDefined("worker_exit") ? w => Quietly(() => _hooks.WorkerExit(Server(), Worker(w, alive: false))) : null,
    };

    private HookServer Server() => new(_masterPid, _numWorkers, _settings);

    /// <summary>What hooks see of <paramref name="worker"/> now (for the request hooks, which the worker calls itself).</summary>
    public HookWorker Snapshot(WorkerInfo worker) => Worker(worker);

    private HookWorker Worker(WorkerInfo w, bool alive = true)
    {
        var worker = new HookWorker(w.Pid, w.Age, alive, _masterPid) { MaxRequests = _settings.MaxRequests };
        return _own is null ? worker : _own(worker);
    }

    private void IfDefined(string name, Action call)
    {
        if (_hooks.IsDefined(name))
        {
            Quietly(call);
        }
    }

    private void PublishMaster() => _hooks.MasterChanged(new HookMasterState(_numWorkers, _workers, _listeners, _procName));

    private static void Quietly(Action call)
    {
        try
        {
            call();
        }
        catch (HookFailedException)
        {
            // Logged, with the Python traceback, by the hook runner.
        }
    }
}
