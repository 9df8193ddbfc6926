namespace Unicorn.Wsgi.Config;

// The "Debugging" settings, in Gunicorn's order.
public static partial class SettingsTable
{
    private const string DebuggingSection = "Debugging";

    private static IEnumerable<Setting> DebuggingRows() =>
    [
        FlagRow("reload", DebuggingSection, "--reload",
            "Restart workers when application code changes (development only): the files of every loaded module " +
            "and --reload-extra-file entries are watched; a changed .py file that does not compile is logged and the " +
            "running workers keep serving until it is fixed."),
        new Setting
        {
            Name = "reload_engine",
            GunicornValidator = "reload_engine",
            Section = DebuggingSection,
            Type = SettingType.String,
            Flags = ["--reload-engine"],
            Meta = "STRING",
            Default = _ => "auto",
            Validate = Validators.OneOf("auto", "auto", "poll", "inotify"),
            Doc = "How --reload watches files: 'auto' (inotify when available, else poll), 'poll' (stat each file every second) or 'inotify'.",
        },
        ListRow("reload_extra_files", DebuggingSection, "--reload-extra-file", "FILES",
            "More files (or glob patterns) whose change triggers --reload, such as templates and config.") with
        { GunicornValidator = "files_or_patterns", Validate = Validators.FilesOrPatterns },
        FlagRow("spew", DebuggingSection, "--spew",
            "Trace every executed Python line (sys.settrace); extremely verbose."),
        FlagRow("check_config", DebuggingSection, "--check-config",
            "Load the configuration, its hooks, the TLS certificate and the application, then exit: 0 when all load, 1 with the error otherwise."),
        FlagRow("print_config", DebuggingSection, "--print-config",
            "Print the resolved settings as sorted 'name = value' lines, load the application, then exit."),
    ];
}
