namespace Unicorn.Wsgi.Config;

/// <summary>
/// The resolved settings of one server: every setting of <see cref="SettingsTable"/> by its Gunicorn
/// name, holding typed values. Code reads the typed properties; the table, sources and validators that
/// fill it live beside this file.
/// </summary>
public sealed partial class Settings
{
    private readonly Dictionary<string, object?> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SettingSource> _sources = new(StringComparer.Ordinal);

    /// <summary>
    /// The typed value of <paramref name="name"/>. A setting never set (only in a hand-built Settings; resolved ones hold
    /// every setting) reads as its default.
    /// </summary>
    public T Get<T>(string name) =>
        _values.TryGetValue(name, out var v) ? (T)v!
        : SettingsTable.ByName.TryGetValue(name, out var setting) ? (T)setting.Validate(setting.Default(HandBuilt), HandBuilt)!
        : throw new KeyNotFoundException($"unknown setting {name}");

    /// <summary>
    /// Sets a value as a config file would, through the setting's validator, so what is stored is always the
    /// typed value (a setting the table does not know is stored as given).
    /// </summary>
    public void Set(string name, object? value) =>
        _values[name] = SettingsTable.ByName.TryGetValue(name, out var setting)
            ? setting.Validate(value, HandBuilt)
            : value;

    // What a hand-built Settings validates in: no environment, the current directory.
    private static ResolveContext HandBuilt => new(new Dictionary<string, string?>(), Directory.GetCurrentDirectory());

    public bool Contains(string name) => _values.ContainsKey(name);

    public IEnumerable<KeyValuePair<string, object?>> All => _values;

    /// <summary>Where the value of <paramref name="name"/> came from.</summary>
    public SettingSource SourceOf(string name) => _sources.TryGetValue(name, out var s) ? s : SettingSource.Default;

    /// <summary>APP_MODULE as given on the command line, if any.</summary>
    public string? AppModule { get; set; }

    /// <summary>With <c>--paste</c>: the absolute ini path and optional <c>#name</c>, for <c>paste.deploy.loadapp</c>.</summary>
    public string? PasteUri { get; set; }

    /// <summary>
    /// <c>sys.argv</c> for the app in the zygote and the workers: the master's command line (Gunicorn's workers have
    /// its), or the script's when a <c>BaseApplication</c> script started the master. Empty: the process's own.
    /// </summary>
    public IReadOnlyList<string> ProgramArgv { get; set; } = [];

    /// <summary>What resolving the settings skipped, one line each, for the master to log once its log is up.</summary>
    public List<string> Warnings { get; } = [];

    /// <summary><c>--paste-global KEY=VALUE</c> entries as PasteDeploy's global_conf; a '=' in the key is written '\='.</summary>
    public IReadOnlyDictionary<string, string> PasteGlobalConf =>
        Get<IReadOnlyList<string>>("raw_paste_global_conf").Select(SplitGlobal).GroupBy(p => p.Key)
            .ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);

    /// <summary>The config file that was read (absolute path, or <c>python:MODULE</c>), or null.</summary>
    public string? ConfigFile { get; set; }

    /// <summary>
    /// The Python config file's bytes as the master read them (base64), which a worker runs for its hooks instead of
    /// the file, as Gunicorn's forked workers have what the master loaded: a file edited since (before the HUP that
    /// would apply it) cannot make a new worker differ, or fail to boot. Null for TOML, modules and files over 64 KiB.
    /// </summary>
    public string? ConfigFileSource { get; set; }

    /// <summary>
    /// The Server header's value when the config file set Gunicorn's <c>gunicorn.SERVER</c> (the usual way to hide the
    /// server's name: <c>import gunicorn; gunicorn.SERVER = "..."</c>); null: <c>unicorn</c>.
    /// </summary>
    public string? ServerName { get; set; }

    /// <summary>
    /// The environment variables the Python config file's module level set (<c>os.environ[...] = ...</c>): the
    /// master's environment gets them before <c>raw_env</c>, so the zygote and every worker have them, as Gunicorn's
    /// workers inherit them from the master that ran the file.
    /// </summary>
    public IReadOnlyDictionary<string, string> ConfigFileEnvironment { get; set; } = new Dictionary<string, string>();

    /// <summary>The directories the Python config file's module level added to <c>sys.path</c>, after <c>--pythonpath</c>'s.</summary>
    public IReadOnlyList<string> ConfigFilePythonPath { get; set; } = [];

    /// <summary>
    /// The directory the master was started in. Workers keep it on sys.path behind <c>--chdir</c>, as Gunicorn's
    /// processes do (it adds the start directory, loads the config, then changes to <c>--chdir</c> and adds that).
    /// </summary>
    public string? LaunchDirectory { get; set; }

    // Typed views of the settings the server itself reads; code outside Config reads settings only through these.

    /// <summary>The <c>bind</c> addresses, parsed.</summary>
    public IReadOnlyList<ListenAddress> ListenAddresses => Get<IReadOnlyList<ListenAddress>>("bind");

    /// <summary>The <c>bind</c> addresses as written.</summary>
    public IReadOnlyList<string> Bind => [.. ListenAddresses.Select(a => a.Text)];
    public int Backlog => Get<int>("backlog");
    public int Workers => Get<int>("workers");
    public string WorkerClass => Get<string>("worker_class");
    public int Threads => Get<int>("threads");
    public int WorkerConnections => Get<int>("worker_connections");
    public int MaxRequests => Get<int>("max_requests");
    public int MaxRequestsJitter => Get<int>("max_requests_jitter");

    /// <summary><c>max_worker_rss</c> in MiB (0: off).</summary>
    public int MaxWorkerRss => Get<int>("max_worker_rss");

    /// <summary><c>max_request_time</c> in seconds (0: off) and what it does besides logging (<c>log</c> or <c>recycle</c>).</summary>
    public int MaxRequestTime => Get<int>("max_request_time");
    public string MaxRequestTimeAction => Get<string>("max_request_time_action");

    /// <summary><c>control_socket</c> as given (a relative path is relative to chdir, else to where the master started).</summary>
    public string ControlSocket => Get<string>("control_socket");
    public int ControlSocketMode => Get<int>("control_socket_mode");
    public bool ControlSocketDisable => Get<bool>("control_socket_disable");
    public WorkerHeapLimit WorkerHeapLimit => Get<WorkerHeapLimit>("worker_heap_limit");
    public int Timeout => Get<int>("timeout");
    public int GracefulTimeout => Get<int>("graceful_timeout");
    public int BootTimeout => Get<int>("boot_timeout");

    /// <summary><c>worker_start = fork</c>: workers are forked from a Python zygote rather than spawned.</summary>
    public bool ForkWorkers => Get<string>("worker_start") == "fork";

    /// <summary>How many booted, parked workers the master keeps to promote when it needs a worker.</summary>
    public int WorkerSpares => Get<int>("worker_spares");
    public int KeepAlive => Get<int>("keepalive");
    public int LimitRequestLine => Get<int>("limit_request_line");
    public int LimitRequestFields => Get<int>("limit_request_fields");
    public int LimitRequestFieldSize => Get<int>("limit_request_field_size");
    public int MinRequestBodyRate => Get<int>("min_request_body_rate");
    public string? Chdir => Get<string?>("chdir");

    /// <summary>Comma-separated directories, as Gunicorn keeps it; see <see cref="PythonPathEntries"/>.</summary>
    public string? PythonPath => Get<string?>("pythonpath");
    public IReadOnlyList<string> PythonPathEntries =>
        [.. (PythonPath is { Length: > 0 } p ? p.Split(',').Where(e => e.Length > 0).Select(e => e.Trim()) : []), .. ConfigFilePythonPath];

    public IReadOnlyList<string> RawEnv => Get<IReadOnlyList<string>>("raw_env");

    /// <summary>The application to load: APP_MODULE from the command line, else <c>wsgi_app</c>.</summary>
    public string? AppUri => AppModule ?? Get<string?>("wsgi_app");

    public bool PreloadApp => Get<bool>("preload_app");

    /// <summary><c>--print-config</c>: print the resolved settings, then check as <c>--check-config</c> does.</summary>
    public bool PrintConfigAndExit => Get<bool>("print_config");

    /// <summary><c>--check-config</c>: load the app to check it, then exit.</summary>
    public bool CheckConfigAndExit => Get<bool>("check_config");

    public bool Reload => Get<bool>("reload");
    public string ReloadEngine => Get<string>("reload_engine");
    public IReadOnlyList<string> ReloadExtraFiles => Get<IReadOnlyList<string>>("reload_extra_files");

    /// <summary><c>--spew</c>: trace every line Python executes.</summary>
    public bool Spew => Get<bool>("spew");

    /// <summary>Every hook setting with the reference it holds (the default one when the config file does not define it).</summary>
    public IEnumerable<(Setting Setting, HookReference Reference)> HookReferences =>
        SettingsTable.Hooks.Select(h => (h, Get<HookReference>(h.Name)));

    public bool Daemon => Get<bool>("daemon");

    public bool EnableStdioInheritance => Get<bool>("enable_stdio_inheritance");
    public string? Pidfile => Get<string?>("pidfile");
    public int User => Get<int>("user");
    public int Group => Get<int>("group");
    public int Umask => Get<int>("umask");
    public bool InitGroups => Get<bool>("initgroups");
    public string? WorkerTmpDir => Get<string?>("worker_tmp_dir");
    public string? WsgiApp => Get<string?>("wsgi_app");
    public string? CertFile => Get<string?>("certfile");
    public bool ReusePort => Get<bool>("reuse_port");

    /// <summary>Whether sendfile may be used: <c>--no-sendfile</c> (or <c>sendfile = False</c>) turns it off; unset means on.</summary>
    public bool Sendfile => Get<bool?>("sendfile") ?? true;

    /// <summary><c>proc_name</c>, else <c>default_proc_name</c>.</summary>
    public string ProcName => ProcNameSetting ?? DefaultProcName ?? "gunicorn";

    /// <summary><c>proc_name</c> itself (null when unset); <see cref="ProcName"/> applies the fallbacks.</summary>
    public string? ProcNameSetting => Get<string?>("proc_name");
    public string? DefaultProcName => Get<string?>("default_proc_name");

    public bool IsSsl => Get<string?>("certfile") is not null || Get<string?>("keyfile") is not null;

    /// <summary>The worker kind after Gunicorn's rule that sync with more than one thread is gthread.</summary>
    public string EffectiveWorkerClass => IsThreadedSync ? WorkerClasses.Gthread : WorkerClasses.Normalise(WorkerClass);

    /// <summary>The worker class as Gunicorn 26.1's "Using worker:" line names it (its <c>worker_class_str</c>: sync with threads is "gthread"; 20.1 said "threads").</summary>
    public string WorkerClassDisplay => WorkerSubclass ?? (IsThreadedSync ? "gthread" : WorkerClass);

    /// <summary>
    /// The uvicorn worker subclass named by <c>worker_class</c>, which the resolver turned into its uvicorn base class
    /// and settings (<see cref="UvicornConfigKwargs"/>); null otherwise.
    /// </summary>
    public string? WorkerSubclass { get; internal set; }

    private bool IsThreadedSync => WorkerClasses.Normalise(WorkerClass) == WorkerClasses.Sync && Threads > 1;

    /// <summary><c>raw_env</c> as a dictionary (KEY=VALUE, later entries win).</summary>
    public IReadOnlyDictionary<string, string> Env =>
        RawEnv.Select(e => e.Split('=', 2)).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.Ordinal);

    private static KeyValuePair<string, string> SplitGlobal(string entry)
    {
        for (var i = 0; i < entry.Length; i++)
        {
            if (entry[i] == '=' && (i == 0 || entry[i - 1] != '\\'))
            {
                return new(entry[..i].Replace("\\=", "=", StringComparison.Ordinal), entry[(i + 1)..].Replace("\\=", "=", StringComparison.Ordinal));
            }
        }

        return new(entry, "");
    }

    internal void Set(string name, object? value, SettingSource source)
    {
        _values[name] = value;
        _sources[name] = source;
    }
}
