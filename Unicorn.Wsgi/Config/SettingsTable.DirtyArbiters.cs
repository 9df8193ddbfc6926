namespace Unicorn.Wsgi.Config;

// The "Dirty Arbiters" settings, in Gunicorn's order, with its defaults and validation.
public static partial class SettingsTable
{
    private const string DirtySection = "Dirty Arbiters";

    private static IEnumerable<Setting> DirtyArbitersRows() =>
    [
        ListRow("dirty_apps", DirtySection, "--dirty-app", "STRING",
            "A dirty application (MODULE:CLASS, or MODULE:CLASS:N to load it in only N dirty workers) served by the "
            + "dirty arbiter's separate pool; repeat for several. The pool runs when this is set and dirty_workers > 0.") with
        { Validate = DirtyAppSpecs },
        IntRow("dirty_workers", DirtySection, ["--dirty-workers"], 0,
            "Processes in the dirty pool (0: no dirty arbiter). SIGTTIN/SIGTTOU sent to the dirty arbiter's pid add or remove one."),
        IntRow("dirty_timeout", DirtySection, ["--dirty-timeout"], 300,
            "Seconds a dirty call may run (0: no limit); past it the caller gets DirtyTimeoutError and the dirty worker is killed and replaced."),
        IntRow("dirty_threads", DirtySection, ["--dirty-threads"], 1, "Calls each dirty worker runs at once (threads)."),
        IntRow("dirty_graceful_timeout", DirtySection, ["--dirty-graceful-timeout"], 30,
            "Seconds dirty workers get to finish their calls on shutdown before they are killed."),
    ];

    /// <summary>Each entry is MODULE:CLASS or MODULE:CLASS:N with N at least 1, caught before anything starts.</summary>
    private static object? DirtyAppSpecs(object? value, ResolveContext context)
    {
        var specs = (IReadOnlyList<string>)Validators.StringList(value, context)!;
        foreach (var spec in specs)
        {
            var parts = spec.Split(':');
            var shapeOk = parts.Length is 2 or 3 && parts[0].Length > 0 && parts[1].Length > 0;
            if (!shapeOk)
            {
                throw new SettingValueException($"Invalid import path format: {spec}. Expected 'module.path:ClassName' or 'module.path:ClassName:N'");
            }

            if (parts.Length == 3 && (!int.TryParse(parts[2], out var n) || n < 1))
            {
                throw new SettingValueException($"Invalid worker count in spec: {spec} (must be an integer >= 1)");
            }
        }

        return specs;
    }
}
