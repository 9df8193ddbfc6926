namespace Unicorn.Wsgi.Config;

public static partial class SettingsTable
{
    private const string Http2Section = "HTTP/2";
    private const string DirtySection = "Dirty Arbiters";
    private const string ControlSection = "Control";

    private static IEnumerable<Setting> NewerRows() =>
    [
        StringRow("http_protocols", Http2Section, ["--http-protocols"], "STRING", "h1",
            "Comma-separated protocols to offer, most preferred first: h1, h2 (h3 reserved).") with
        { Type = SettingType.StringList, Validate = Validators.HttpProtocols, Supported = false, UnsupportedHint = "only h1 (HTTP/1.1) is implemented" },
        StringRow("http2_cleartext", Http2Section, ["--http2-cleartext"], "STRING", "off",
            "HTTP/2 without TLS: off, prior-knowledge, upgrade or both.") with
        { Validate = Validators.Http2Cleartext, Supported = false },
        IntRow("http2_max_concurrent_streams", Http2Section, ["--http2-max-concurrent-streams"], 100,
            "Most concurrent HTTP/2 streams per connection.") with { Supported = false },
        IntRow("http2_initial_window_size", Http2Section, ["--http2-initial-window-size"], 65535,
            "Initial HTTP/2 flow-control window in bytes.") with { Supported = false },
        IntRow("http2_max_frame_size", Http2Section, ["--http2-max-frame-size"], 16384,
            "Largest HTTP/2 frame payload in bytes (16384 to 16777215).") with
        { Validate = Validators.Http2FrameSize, Supported = false },
        IntRow("http2_max_header_list_size", Http2Section, ["--http2-max-header-list-size"], 65536,
            "Largest HTTP/2 header list in bytes.") with { Supported = false },
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
        StringRow("asgi_loop", WorkerSection, ["--asgi-loop"], "STRING", "auto",
            "ASGI workers' event loop: auto, asyncio or uvloop.") with
        { Validate = Validators.OneOf("auto", "auto", "asyncio", "uvloop"), Supported = false, UnsupportedHint = "Unicorn serves WSGI applications only" },
        StringRow("asgi_lifespan", WorkerSection, ["--asgi-lifespan"], "STRING", "auto",
            "ASGI lifespan events: auto, on or off.") with
        { Validate = Validators.OneOf("auto", "auto", "on", "off"), Supported = false, UnsupportedHint = "Unicorn serves WSGI applications only" },
        IntRow("asgi_disconnect_grace_period", WorkerSection, ["--asgi-disconnect-grace-period"], 3,
            "Seconds an ASGI application gets to finish after its client disconnects.") with
        { Supported = false, UnsupportedHint = "Unicorn serves WSGI applications only" },
        StringRow("http_parser", WorkerSection, ["--http-parser"], "STRING", "auto",
            "Gunicorn's choice of HTTP parser: auto, fast or python. Unicorn always uses its own parser.") with
        { Validate = Validators.OneOf("auto", "auto", "fast", "python"), Supported = false, UnsupportedHint = "Unicorn always parses HTTP in C#" },
        StringRow("root_path", MechanicsSection, ["--root-path"], "STRING", "",
            "The mount point of an ASGI application (its scope's root_path).") with
        { Supported = false, UnsupportedHint = "Unicorn serves WSGI applications only; set SCRIPT_NAME through forwarder_headers" },
        ListRow("dirty_apps", DirtySection, "--dirty-app", "STRING",
            "A dirty application (MODULE:CLASS) served by the dirty arbiter's separate pool; repeat for several.") with
        { Supported = false },
        IntRow("dirty_workers", DirtySection, ["--dirty-workers"], 0, "Processes in the dirty pool (0: none).") with { Supported = false },
        IntRow("dirty_timeout", DirtySection, ["--dirty-timeout"], 300, "Seconds a dirty task may run.") with { Supported = false },
        IntRow("dirty_threads", DirtySection, ["--dirty-threads"], 1, "Threads per dirty worker.") with { Supported = false },
        IntRow("dirty_graceful_timeout", DirtySection, ["--dirty-graceful-timeout"], 30,
            "Seconds dirty workers get to finish on shutdown.") with { Supported = false },
        .. DirtyHookRows(),
        new Setting
        {
            Name = "control_socket",
            Section = ControlSection,
            Type = SettingType.String,
            Flags = ["--control-socket"],
            Meta = "PATH",
            Default = DefaultControlSocket,
            DefaultDoc = "$XDG_RUNTIME_DIR/gunicorn.ctl, else $HOME/.gunicorn/gunicorn.ctl",
            Validate = Validators.String,
            Doc = "The UNIX socket of Gunicorn's runtime control interface (gunicornc).",
            Supported = false,
            UnsupportedHint = "Unicorn has no control socket; use signals",
        },
        IntRow("control_socket_mode", ControlSection, ["--control-socket-mode"], 384 /* 0o600 */,
            "File mode of the control socket.") with
        { CliType = CliValueType.AutoInt, Supported = false },
        FlagRow("control_socket_disable", ControlSection, "--no-control-socket",
            "Do not create the control socket (Unicorn never creates one)."),
    ];

    private static object? DefaultControlSocket(ResolveContext context)
    {
        if (context.GetEnvironment("XDG_RUNTIME_DIR") is { Length: > 0 } runtime && Directory.Exists(runtime))
        {
            return Path.Combine(runtime, "gunicorn.ctl");
        }

        var home = context.GetEnvironment("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(home, ".gunicorn", "gunicorn.ctl");
    }
}
