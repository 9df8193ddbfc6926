using Unicorn.Wsgi.Arbiter;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Hooks;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Tests.Hooks;

public sealed class ServerHookBridgeTests
{
    private static Settings Settings(int workers = 2) =>
        SettingsResolver.Resolve(["-w", workers.ToString(System.Globalization.CultureInfo.InvariantCulture), "app:app"], new Dictionary<string, string?>(), null, "/tmp");

    [Fact]
    public void Start_and_worker_hooks_get_delegates_only_when_defined()
    {
        var hooks = new RecordingHooks("when_ready", "post_fork");
        var bridge = ServerHookBridge.ForMaster(hooks, Settings());
        var master = bridge.CreateMasterHooks();
        Assert.NotNull(master.WhenReady);
        Assert.Null(master.OnStarting);
        Assert.NotNull(master.NWorkersChanged);
        var worker = bridge.CreateWorkerHooks();
        Assert.NotNull(worker.PostFork);
        Assert.Null(worker.WorkerExit);
    }

    [Fact]
    public void A_hook_the_reloaded_file_adds_runs_and_one_it_removes_does_not()
    {
        var before = new RecordingHooks("child_exit");
        var bridge = ServerHookBridge.ForMaster(before, Settings());
        var master = bridge.CreateMasterHooks();
        var after = new RecordingHooks("pre_fork");
        bridge.Update(after, Settings());
        Assert.Equal("{\"_worker_id\": 4}", master.PreFork!(new WorkerInfo(0, 4))); // for the worker process
        master.ChildExit!(new WorkerInfo(70, 3));
        Assert.Empty(before.Calls);
        Assert.Equal(["pre_fork"], after.Calls);
    }

    [Fact]
    public void The_master_state_follows_workers_listeners_the_count_and_reloads()
    {
        var hooks = new RecordingHooks("when_ready");
        var bridge = ServerHookBridge.ForMaster(hooks, Settings(2));
        var master = bridge.CreateMasterHooks();
        master.MasterChanged!([new WorkerInfo(101, 1), new WorkerInfo(102, 2)], [new ListeningSocket(5, "http://127.0.0.1:8000")], "app.2");
        Assert.Equal(2, hooks.State!.NumWorkers);
        Assert.Equal("app.2", hooks.State.ProcName);
        Assert.Equal([101, 102], hooks.State.Workers.Select(w => w.Pid));
        Assert.All(hooks.State.Workers, w => Assert.Equal(Environment.ProcessId, w.ParentPid));
        Assert.Equal([new HookListener(5, "http://127.0.0.1:8000")], hooks.State.Listeners);

        master.NWorkersChanged!(3, 2);
        Assert.Equal(3, hooks.State.NumWorkers);
        Assert.Equal([101, 102], hooks.State.Workers.Select(w => w.Pid));

        var reloaded = new RecordingHooks();
        bridge.Update(reloaded, Settings(3));
        Assert.Equal(hooks.State, reloaded.State);
    }

    [Fact]
    public void Server_snapshot_follows_the_worker_count_and_reloads()
    {
        var hooks = new RecordingHooks("when_ready", "nworkers_changed", "child_exit");
        var bridge = ServerHookBridge.ForMaster(hooks, Settings(2));
        var master = bridge.CreateMasterHooks();
        master.WhenReady!();
        master.NWorkersChanged!(5, 2);
        master.ChildExit!(new WorkerInfo(77, 3));
        var reloaded = Settings(4);
        bridge.Update(hooks, reloaded);
        master.WhenReady!();
        Assert.Equal(
            [$"when_ready {Environment.ProcessId} 2", "nworkers_changed 5 2", "child_exit 77 3 False", $"when_ready {Environment.ProcessId} 5"],
            hooks.Calls);
        Assert.Same(reloaded, hooks.LastServer!.Settings);
    }

    [Fact]
    public void Failures_stop_boot_hooks_only()
    {
        var hooks = new RecordingHooks("when_ready", "post_fork", "worker_exit") { Fail = true };
        var bridge = ServerHookBridge.ForMaster(hooks, Settings());
        bridge.CreateMasterHooks().WhenReady!();
        var worker = bridge.CreateWorkerHooks();
        worker.WorkerExit!(new WorkerInfo(1, 1));
        var e = Assert.Throws<HookFailedException>(() => worker.PostFork!(new WorkerInfo(1, 1)));
        Assert.Equal("the post_fork hook raised", e.ToString());
    }

    private sealed class RecordingHooks(params string[] defined) : IServerHooks
    {
        public List<string> Calls { get; } = [];

        public HookServer? LastServer { get; private set; }

        public bool Fail { get; init; }

        public HookMasterState? State { get; private set; }

        public bool IsDefined(string hookName) => defined.Contains(hookName);

        public void MasterChanged(HookMasterState state) => State = state;

        private void Record(string name, HookServer? server, string detail)
        {
            LastServer = server ?? LastServer;
            Calls.Add($"{name} {detail}".TrimEnd());
            if (Fail)
            {
                throw new HookFailedException($"the {name} hook raised") { Hook = name };
            }
        }

        public void OnStarting(HookServer server) => Record("on_starting", server, "");
        public void OnReload(HookServer server) => Record("on_reload", server, "");
        public void WhenReady(HookServer server) => Record("when_ready", server, $"{server.Pid} {server.NumWorkers}");
        public string? PreFork(HookServer server, HookWorker worker)
        {
            Record("pre_fork", server, "");
            return $"{{\"_worker_id\": {worker.Age}}}";
        }
        public void ChildExit(HookServer server, HookWorker worker) => Record("child_exit", server, $"{worker.Pid} {worker.Age} {worker.Alive}");
        public void NumWorkersChanged(HookServer server, int newValue, int? oldValue) => Record("nworkers_changed", server, $"{newValue} {oldValue}");
        public void PreExec(HookServer server) => Record("pre_exec", server, "");
        public void OnExit(HookServer server) => Record("on_exit", server, "");
        public void PostFork(HookServer server, HookWorker worker) => Record("post_fork", server, "");
        public void PostWorkerInit(HookWorker worker) => Record("post_worker_init", null, "");
        public void WorkerInt(HookWorker worker) => Record("worker_int", null, "");
        public void WorkerAbort(HookWorker worker) => Record("worker_abort", null, "");
        public void WorkerExit(HookServer server, HookWorker worker) => Record("worker_exit", server, "");
    }
}
