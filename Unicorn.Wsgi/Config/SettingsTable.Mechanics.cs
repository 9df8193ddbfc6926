namespace Unicorn.Wsgi.Config;

public static partial class SettingsTable
{
    private const string DebuggingSection = "Debugging";
    private const string MechanicsSection = "Server Mechanics";

    private static IEnumerable<Setting> MechanicsRows() =>
    [
        FlagRow("reload", DebuggingSection, "--reload",
            "Restart workers when application code changes (development only): the files of every loaded module " +
            "and --reload-extra-file entries are watched; a changed .py file that does not compile is logged and the " +
            "running workers keep serving until it is fixed."),
        new Setting
        {
            Name = "reload_engine",
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
        { Validate = Validators.FilesOrPatterns },
        FlagRow("spew", DebuggingSection, "--spew",
            "Trace every executed Python line (sys.settrace); extremely verbose."),
        FlagRow("check_config", DebuggingSection, "--check-config",
            "Load the configuration and the application, then exit: 0 when both load, 1 with the error otherwise."),
        FlagRow("print_config", DebuggingSection, "--print-config",
            "Print the resolved settings as sorted 'name = value' lines, load the application, then exit."),
        FlagRow("preload_app", MechanicsSection, "--preload",
            "Import the application in the master before starting workers, so an import error stops the server at once. " +
            "Workers still import it themselves (Unicorn does not fork)."),
        new Setting
        {
            Name = "sendfile",
            Section = MechanicsSection,
            Type = SettingType.NullableBool,
            Flags = ["--no-sendfile"],
            Action = CliAction.StoreConst,
            Const = false,
            Default = c => c.GetEnvironment("SENDFILE") is { } v ? v.ToLowerInvariant() is "y" or "1" or "yes" or "true" : null,
            DefaultEnvironmentVariable = "SENDFILE",
            DefaultDoc = "None (sendfile is used), or the truth of $SENDFILE when set",
            Validate = Validators.NullableBool,
            Doc = "Whether file responses (wsgi.file_wrapper) may use sendfile(2); --no-sendfile turns it off.",
        },
        FlagRow("reuse_port", MechanicsSection, "--reuse-port",
            "Set SO_REUSEPORT on listening sockets so several servers can share a port."),
        new Setting
        {
            Name = "chdir",
            Section = MechanicsSection,
            Type = SettingType.String,
            Flags = ["--chdir"],
            Default = c => c.WorkingDirectory,
            DefaultDoc = "'.'",
            Validate = Validators.Chdir,
            Doc = "Change to this directory before loading the application; it is also put first on sys.path.",
        },
        FlagRow("daemon", MechanicsSection, "-D",
            "Detach from the terminal and run in the background.") with { Flags = ["-D", "--daemon"] },
        ListRow("raw_env", MechanicsSection, "--env", "ENV",
            "Set an environment variable for the application, as KEY=VALUE; repeat for several.") with
        { Flags = ["-e", "--env"], Validate = Validators.RawEnv },
        StringRow("pidfile", MechanicsSection, ["-p", "--pid"], "FILE", null,
            "Write the master's process id to this file."),
        StringRow("worker_tmp_dir", MechanicsSection, ["--worker-tmp-dir"], "DIR", null,
            "Directory for the workers' heartbeat files; a tmpfs such as /dev/shm avoids disk stalls."),
        new Setting
        {
            Name = "user",
            Section = MechanicsSection,
            Type = SettingType.Int,
            Flags = ["-u", "--user"],
            Meta = "USER",
            Default = _ => null,
            DefaultDoc = "os.geteuid()",
            Validate = Validators.User,
            Doc = "Run workers as this user: a name or a numeric uid.",
        },
        new Setting
        {
            Name = "group",
            Section = MechanicsSection,
            Type = SettingType.Int,
            Flags = ["-g", "--group"],
            Meta = "GROUP",
            Default = _ => null,
            DefaultDoc = "os.getegid()",
            Validate = Validators.Group,
            Doc = "Run workers as this group: a name or a numeric gid.",
        },
        IntRow("umask", MechanicsSection, ["-m", "--umask"], 0,
            "File mode creation mask of the server's processes; octal (0o22 or 022), hex and decimal all read.") with
        { CliType = CliValueType.AutoInt },
        FlagRow("initgroups", MechanicsSection, "--initgroups",
            "With --user, also join that user's supplementary groups."),
        StringRow("tmp_upload_dir", MechanicsSection, [], "DIR", null,
            "Kept for compatibility: neither Gunicorn nor Unicorn writes request bodies here."),
        new Setting
        {
            Name = "secure_scheme_headers",
            Section = MechanicsSection,
            Type = SettingType.Dict,
            Default = _ => new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["X-FORWARDED-PROTOCOL"] = "ssl",
                ["X-FORWARDED-PROTO"] = "https",
                ["X-FORWARDED-SSL"] = "on",
            },
            Validate = Validators.Dict,
            Doc = "Header names and values that mark a request as HTTPS (wsgi.url_scheme), trusted only from forwarded_allow_ips.",
        },
        new Setting
        {
            Name = "forwarded_allow_ips",
            Section = MechanicsSection,
            Type = SettingType.StringList,
            Flags = ["--forwarded-allow-ips"],
            Meta = "STRING",
            Default = c => c.GetEnvironment("FORWARDED_ALLOW_IPS") ?? "127.0.0.1,::1",
            DefaultEnvironmentVariable = "FORWARDED_ALLOW_IPS",
            DefaultDoc = "'127.0.0.1,::1', or $FORWARDED_ALLOW_IPS when set",
            Validate = Validators.AddressList,
            DomainValue = true,
            Doc = "Comma-separated addresses or CIDR networks of proxies trusted to set secure_scheme_headers and forwarder_headers; '*' trusts all.",
        },
    ];
}
