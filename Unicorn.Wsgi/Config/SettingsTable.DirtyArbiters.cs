namespace Unicorn.Wsgi.Config;

// The "Dirty Arbiters" settings, in Gunicorn's order.
public static partial class SettingsTable
{
    private const string DirtySection = "Dirty Arbiters";

    // Said once for the whole section: the pool, its client module and the stash do not exist yet.
    private const string DirtyNotYet = "the dirty arbiter pool (gunicorn.dirty's DirtyApp, client and stash) is not implemented yet";

    private static IEnumerable<Setting> DirtyArbitersRows() =>
    [
        ListRow("dirty_apps", DirtySection, "--dirty-app", "STRING",
            "A dirty application (MODULE:CLASS) served by the dirty arbiter's separate pool; repeat for several.") with
        { Supported = false, UnsupportedHint = DirtyNotYet },
        IntRow("dirty_workers", DirtySection, ["--dirty-workers"], 0, "Processes in the dirty pool (0: none).") with { Supported = false, UnsupportedHint = DirtyNotYet },
        IntRow("dirty_timeout", DirtySection, ["--dirty-timeout"], 300, "Seconds a dirty task may run.") with { Supported = false, UnsupportedHint = DirtyNotYet },
        IntRow("dirty_threads", DirtySection, ["--dirty-threads"], 1, "Threads per dirty worker.") with { Supported = false, UnsupportedHint = DirtyNotYet },
        IntRow("dirty_graceful_timeout", DirtySection, ["--dirty-graceful-timeout"], 30,
            "Seconds dirty workers get to finish on shutdown.") with { Supported = false, UnsupportedHint = DirtyNotYet },
    ];
}
