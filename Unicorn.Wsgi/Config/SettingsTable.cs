namespace Unicorn.Wsgi.Config;

/// <summary>
/// Every Gunicorn setting, in Gunicorn's declaration order, plus Unicorn's own. This one list drives the command
/// line, <c>GUNICORN_CMD_ARGS</c>, config files, <c>--print-config</c>, <c>-h</c> and <c>docs/settings.md</c>.
/// The rows live in partial files, one per subject (the docs' sections), each returning its rows in order.
/// </summary>
public static partial class SettingsTable
{
    // Gunicorn's declaration order (Unicorn's own settings beside their relatives), which -h, the docs and the flag list
    // follow. The rows live in one file per subject (SettingsTable.<Subject>.cs); this list only orders them.
    private static readonly string[] s_declarationOrder =
    [
        "config", "wsgi_app", "bind", "backlog", "workers", "worker_class", "threads", "worker_connections",
        "max_requests", "max_requests_jitter", "worker_heap_limit", "max_worker_rss", "max_request_time", "max_request_time_action", "timeout", "boot_timeout", "worker_start", "worker_spares", "graceful_timeout", "keepalive",
        "limit_request_line", "limit_request_fields", "limit_request_field_size", "min_request_body_rate", "reload", "reload_engine",
        "reload_extra_files", "spew", "check_config", "print_config", "preload_app", "sendfile", "reuse_port", "chdir",
        "daemon", "raw_env", "pidfile", "worker_tmp_dir", "user", "group", "umask", "initgroups", "tmp_upload_dir",
        "secure_scheme_headers", "forwarded_allow_ips", "accesslog", "disable_redirect_access_to_syslog",
        "access_log_format", "errorlog", "loglevel", "capture_output", "logger_class", "logconfig", "logconfig_dict",
        "logconfig_json", "syslog_addr", "syslog", "syslog_prefix", "syslog_facility", "enable_stdio_inheritance",
        "statsd_host", "dogstatsd_tags", "statsd_prefix", "enable_backlog_metric", "metrics_bind", "proc_name",
        "default_proc_name", "pythonpath", "paste", "on_starting", "on_reload", "when_ready", "pre_fork", "post_fork",
        "post_worker_init", "worker_int", "worker_abort", "pre_exec", "pre_request", "post_request", "child_exit",
        "worker_exit", "nworkers_changed", "on_exit", "ssl_context", "proxy_protocol", "proxy_allow_ips", "protocol",
        "uwsgi_allow_ips", "keyfile", "certfile", "ssl_version", "cert_reqs", "ca_certs", "suppress_ragged_eofs",
        "do_handshake_on_connect", "ciphers", "http_protocols", "http2_cleartext", "http2_max_concurrent_streams",
        "http2_initial_window_size", "http2_max_frame_size", "http2_max_header_list_size", "raw_paste_global_conf",
        "permit_obsolete_folding", "strip_header_spaces", "permit_unconventional_http_method",
        "permit_unconventional_http_version", "casefold_http_method", "forwarder_headers", "header_map",
        "tolerate_dangerous_framing", "asgi_loop", "asgi_lifespan", "asgi_disconnect_grace_period", "ws_max_size",
        "ws_ping_interval", "ws_ping_timeout", "http_parser",
        "root_path", "dirty_apps", "dirty_workers", "dirty_timeout", "dirty_threads", "dirty_graceful_timeout",
        "on_dirty_starting", "dirty_post_fork", "dirty_worker_init", "dirty_worker_exit", "control_socket",
        "control_socket_mode", "control_socket_disable",
    ];

    private static readonly Lazy<IReadOnlyList<Setting>> s_all = new(() => InDeclarationOrder(
        [.. ConfigFileRows(), .. ServerSocketRows(), .. WorkerProcessesRows(), .. SecurityRows(), .. DebuggingRows(),
         .. ServerMechanicsRows(), .. LoggingRows(), .. ProcessNamingRows(), .. HooksRows(), .. DirtyArbiterHooksRows(),
         .. SslRows(), .. Http2Rows(), .. DirtyArbitersRows(), .. ControlRows()]));

    private static readonly Lazy<IReadOnlyDictionary<string, Setting>> s_byName =
        new(() => All.ToDictionary(s => s.Name, StringComparer.Ordinal));

    private static readonly Lazy<IReadOnlyDictionary<string, Setting>> s_byFlag =
        new(() => All.SelectMany(s => s.Flags.Select(f => (f, s))).ToDictionary(p => p.f, p => p.s, StringComparer.Ordinal));

    public static IReadOnlyList<Setting> All => s_all.Value;

    public static IReadOnlyDictionary<string, Setting> ByName => s_byName.Value;

    public static IReadOnlyDictionary<string, Setting> ByFlag => s_byFlag.Value;

    public static Setting Get(string name) => ByName.TryGetValue(name, out var s) ? s : throw new KeyNotFoundException($"unknown setting {name}");

    private static List<Setting> InDeclarationOrder(List<Setting> rows)
    {
        var byName = rows.ToDictionary(r => r.Name, StringComparer.Ordinal);
        if (byName.Count != s_declarationOrder.Length || s_declarationOrder.Any(n => !byName.ContainsKey(n)))
        {
            throw new InvalidOperationException("SettingsTable: s_declarationOrder and the rows of the subject files differ");
        }

        return [.. s_declarationOrder.Select(n => byName[n])];
    }

    private static Setting IntRow(string name, string section, string[] flags, int value, string doc) => new()
    {
        Name = name,
        Section = section,
        Type = SettingType.Int,
        Flags = flags,
        Meta = "INT",
        CliType = CliValueType.Int,
        Default = _ => value,
        Validate = Validators.PositiveInt,
        Doc = doc,
    };

    private static Setting FlagRow(string name, string section, string flag, string doc, bool value = false) => new()
    {
        Name = name,
        Section = section,
        Type = SettingType.Bool,
        Flags = [flag],
        Action = CliAction.StoreTrue,
        Default = _ => value,
        Validate = Validators.Bool,
        Doc = doc,
    };

    private static Setting StringRow(string name, string section, string[] flags, string? meta, string? value, string doc) => new()
    {
        Name = name,
        Section = section,
        Type = SettingType.String,
        Flags = flags,
        Meta = meta,
        Default = _ => value,
        Validate = Validators.String,
        Doc = doc,
    };

    private static Setting ListRow(string name, string section, string flag, string? meta, string doc) => new()
    {
        Name = name,
        Section = section,
        Type = SettingType.StringList,
        Flags = [flag],
        Meta = meta,
        Action = CliAction.Append,
        Default = _ => Array.Empty<string>(),
        Validate = Validators.StringList,
        Doc = doc,
    };
}
