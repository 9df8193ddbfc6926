namespace Unicorn.Wsgi.Config;

// The "Server Mechanics" settings, in Gunicorn's order.
public static partial class SettingsTable
{
    private const string MechanicsSection = "Server Mechanics";

    private static IEnumerable<Setting> ServerMechanicsRows() =>
    [
        FlagRow("preload_app", MechanicsSection, "--preload",
            "Import the application before starting workers, so an import error stops the server at once. With " +
            "worker_start = fork (the default) the zygote imports it once and workers are forked from it, sharing its " +
            "memory; with spawn the master imports it only to check it, and workers import it themselves."),
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
            "Set SO_REUSEPORT on listening sockets so several servers can share a port. Each worker then accepts from " +
            "a TCP socket of its own, which the master keeps for the worker that replaces it."),
        new Setting
        {
            Name = "chdir",
            GunicornValidator = "chdir",
            Section = MechanicsSection,
            Type = SettingType.String,
            Flags = ["--chdir"],
            Default = c => c.WorkingDirectory,
            DefaultDoc = "'.'",
            Validate = Validators.Chdir,
            Doc = "Change to this directory before loading the application; it is also put first on sys.path, with the directory the server was started in right behind it (as Gunicorn leaves both).",
        },
        FlagRow("daemon", MechanicsSection, "-D",
            "Detach from the terminal and run in the background.") with { Flags = ["-D", "--daemon"] },
        ListRow("raw_env", MechanicsSection, "--env", "ENV",
            "Set an environment variable, as KEY=VALUE; repeat for several. The master (its hooks), the workers and what they run see it; a HUP that drops a name puts back what the master had before.") with
        { Flags = ["-e", "--env"], Validate = Validators.RawEnv },
        StringRow("pidfile", MechanicsSection, ["-p", "--pid"], "FILE", null,
            "Write the master's process id to this file."),
        StringRow("worker_tmp_dir", MechanicsSection, ["--worker-tmp-dir"], "DIR", null,
            "Directory for the workers' heartbeat files; a tmpfs such as /dev/shm avoids disk stalls."),
        new Setting
        {
            Name = "user",
            GunicornValidator = "user",
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
            GunicornValidator = "group",
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
            GunicornValidator = "address_list",
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
        StringRow("pythonpath", MechanicsSection, ["--pythonpath"], "STRING", null,
            "Comma-separated directories to put first on sys.path, as in '/home/app,/home/lib'."),
        StringRow("paste", MechanicsSection, ["--paste", "--paster"], "STRING", null,
            "Load the application from a PasteDeploy ini file (FILE.ini or FILE.ini#name) instead of APP_MODULE. " +
            "Its [server:main] section (use = egg:gunicorn#main or egg:unicorn-server#main) supplies settings below the config file, " +
            "host and port making bind, and its [loggers] configure logging."),
        new Setting
        {
            Name = "proxy_protocol",
            GunicornValidator = "proxy_protocol",
            Section = MechanicsSection,
            Type = SettingType.String,
            Flags = ["--proxy-protocol"],
            Meta = "MODE",
            Action = CliAction.OptionalValue,
            Const = "auto",
            Default = _ => "off",
            Validate = Validators.ProxyProtocol,
            DomainValue = true,
            Doc = "Accept a PROXY protocol header (from HAProxy, stunnel...) before each connection's first request: off, v1, v2 or auto; the bare flag means auto.",
        },
        new Setting
        {
            Name = "proxy_allow_ips",
            GunicornValidator = "address_list",
            Section = MechanicsSection,
            Type = SettingType.StringList,
            Flags = ["--proxy-allow-from"],
            Default = _ => "127.0.0.1,::1",
            Validate = Validators.AddressList,
            DomainValue = true,
            Doc = "Comma-separated addresses or CIDR networks allowed to send PROXY headers; '*' allows any. UNIX socket peers are always allowed.",
        },
        StringRow("protocol", MechanicsSection, ["--protocol"], "STRING", "http",
            "The protocol spoken on the listeners: http, or uwsgi (the uwsgi binary protocol, behind nginx's uwsgi_pass; " +
            "modifier1 0 only), for every worker class.") with
        { Validate = Validators.OneOf("http", "http", "uwsgi") },
        new Setting
        {
            Name = "uwsgi_allow_ips",
            GunicornValidator = "address_list",
            Section = MechanicsSection,
            Type = SettingType.StringList,
            Flags = ["--uwsgi-allow-from"],
            Default = _ => "127.0.0.1,::1",
            Validate = Validators.AddressList,
            DomainValue = true,
            Doc = "Comma-separated addresses or networks allowed to speak the uwsgi protocol; '*' allows any. UNIX socket peers are always allowed.",
        },
        ListRow("raw_paste_global_conf", MechanicsSection, "--paste-global", "CONF",
            "A PasteDeploy global variable as KEY=VALUE (escape '=' in the key as '\\='); repeat for several.") with
        { Validate = Validators.PasteGlobals },
        FlagRow("permit_obsolete_folding", MechanicsSection, "--permit-obsolete-folding",
            "Accept header values continued on the next line (obs-fold, RFC 9112 5.2) instead of rejecting the request."),
        FlagRow("strip_header_spaces", MechanicsSection, "--strip-header-spaces",
            "Accept whitespace between a header name and its colon and drop it (unsafe; request smuggling risk)."),
        FlagRow("permit_unconventional_http_method", MechanicsSection, "--permit-unconventional-http-method",
            "Accept methods outside the usual upper-case token shape (lower case, very short or very long)."),
        FlagRow("permit_unconventional_http_version", MechanicsSection, "--permit-unconventional-http-version",
            "Accept HTTP versions other than 1.0 and 1.1."),
        FlagRow("casefold_http_method", MechanicsSection, "--casefold-http-method",
            "Upper-case the request method before the application sees it."),
        new Setting
        {
            Name = "forwarder_headers",
            GunicornValidator = "comma_list",
            Section = MechanicsSection,
            Type = SettingType.StringList,
            Flags = ["--forwarder-headers"],
            Default = _ => "SCRIPT_NAME,PATH_INFO",
            Validate = Validators.CommaList,
            Doc = "Comma-separated environ keys a trusted proxy (forwarded_allow_ips) may set through headers of the same name.",
        },
        new Setting
        {
            Name = "header_map",
            GunicornValidator = "header_map",
            Section = MechanicsSection,
            Type = SettingType.String,
            Flags = ["--header-map"],
            Default = _ => "drop",
            Validate = Validators.HeaderMap,
            DomainValue = true,
            Doc = "Headers whose names differ from another only by '-' versus '_' would collide in environ: drop them, refuse the request, or (dangerous) keep both.",
        },
        FlagRow("tolerate_dangerous_framing", MechanicsSection, "--tolerate-dangerous-framing",
            "Gunicorn 20.1-22 only: process requests carrying both Transfer-Encoding and Content-Length.") with
        { Supported = false, UnsupportedHint = "Unicorn always rejects ambiguous request framing" },
        StringRow("root_path", MechanicsSection, ["--root-path"], "STRING", "",
            "The mount point of an ASGI application (its scope's root_path); WSGI workers ignore it, as Gunicorn's do."),
    ];
}
