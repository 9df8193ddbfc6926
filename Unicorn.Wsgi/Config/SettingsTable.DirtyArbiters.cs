namespace Unicorn.Wsgi.Config;

// The "Dirty Arbiters" settings, in Gunicorn's order.
public static partial class SettingsTable
{
    private const string DirtySection = "Dirty Arbiters";

    private static IEnumerable<Setting> DirtyArbitersRows() =>
    [
        ListRow("dirty_apps", DirtySection, "--dirty-app", "STRING",
            "A dirty application (MODULE:CLASS) served by the dirty arbiter's separate pool; repeat for several.") with
        { Supported = false },
        IntRow("dirty_workers", DirtySection, ["--dirty-workers"], 0, "Processes in the dirty pool (0: none).") with { Supported = false },
        IntRow("dirty_timeout", DirtySection, ["--dirty-timeout"], 300, "Seconds a dirty task may run.") with { Supported = false },
        IntRow("dirty_threads", DirtySection, ["--dirty-threads"], 1, "Threads per dirty worker.") with { Supported = false },
        IntRow("dirty_graceful_timeout", DirtySection, ["--dirty-graceful-timeout"], 30,
            "Seconds dirty workers get to finish on shutdown.") with { Supported = false },
    ];
}
