namespace Unicorn.Wsgi.Config;

// The "Dirty Arbiter Hooks" settings, in Gunicorn's order. The dirty arbiter (a python3 process) runs them
// itself, reading them from the config file; the master and HTTP workers only validate them.
public static partial class SettingsTable
{
    private const string DirtyHooksSection = "Dirty Arbiter Hooks";

    private static IEnumerable<Setting> DirtyArbiterHooksRows() =>
    [
        HookRow("on_dirty_starting", "OnDirtyStarting", "arbiter", "Called when the dirty arbiter starts.", DirtyHooksSection) with { Supported = true },
        HookRow("dirty_post_fork", "DirtyPostFork", "arbiter, worker", "Called in a dirty worker just after it has started.", DirtyHooksSection) with { Supported = true },
        HookRow("dirty_worker_init", "DirtyWorkerInit", "worker", "Called in a dirty worker after it has loaded its applications.", DirtyHooksSection) with { Supported = true },
        HookRow("dirty_worker_exit", "DirtyWorkerExit", "arbiter, worker", "Called when a dirty worker exits.", DirtyHooksSection) with { Supported = true },
    ];
}
