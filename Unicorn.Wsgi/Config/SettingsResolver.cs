namespace Unicorn.Wsgi.Config;

/// <summary>
/// Builds <see cref="Settings"/> from every source, in Gunicorn's precedence:
/// defaults &lt; framework (paste) &lt; config file &lt; <c>GUNICORN_CMD_ARGS</c> &lt; argv.
/// Every value goes through its setting's validator; a bad value, a broken config file or a setting Unicorn does not
/// implement is a <see cref="ConfigException"/> carrying one line for the user.
/// </summary>
public sealed class SettingsResolver
{
    private readonly ResolveContext _context;
    private readonly Settings _settings = new();

    // A default read from the environment that does not validate is an error only if nothing overrides it.
    private readonly Dictionary<string, ConfigException> _badDefaults = new(StringComparer.Ordinal);

    private SettingsResolver(ResolveContext context) => _context = context;

    /// <summary>
    /// Parses the command line and resolves. <c>-h</c>/<c>-v</c> throw a <see cref="ConfigException"/> with exit code 0
    /// whose message is the text for stdout; callers that want to handle them first use <see cref="CommandLine.Parse"/>
    /// and the other overload.
    /// </summary>
    public static Settings Resolve(string[] argv, IReadOnlyDictionary<string, string?> env, IConfigFileSource? python, string workingDirectory)
    {
        var commandLine = CommandLine.Parse(argv, env);
        if (commandLine.Output is { } output)
        {
            throw new ConfigException(output, exitCode: 0);
        }

        return Resolve(commandLine, env, python, workingDirectory);
    }

    public static Settings Resolve(CommandLineResult commandLine, IReadOnlyDictionary<string, string?> env, IConfigFileSource? python, string workingDirectory)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        var resolver = new SettingsResolver(new ResolveContext(env, workingDirectory));
        return resolver.Run(commandLine, python);
    }

    private Settings Run(CommandLineResult commandLine, IConfigFileSource? python)
    {
        foreach (var setting in SettingsTable.All)
        {
            Apply(setting, setting.Default(_context), SettingSource.Default, "(default)");
        }

        // The application named on the command line also names the processes (Gunicorn's "app specific" config).
        if (commandLine.AppModule is { } app)
        {
            _settings.AppModule = app;
            Apply(SettingsTable.Get("default_proc_name"), app, SettingSource.Framework, "(APP_MODULE)");
        }

        _settings.LaunchDirectory = _context.WorkingDirectory;
        var pasteConfig = ApplyPaste(commandLine);
        var location = FindConfigFile(commandLine, pasteConfig);
        if (location is not null)
        {
            _settings.ConfigFile = location.Display;
            _settings.ConfigFileSource = Snapshot(location);
            foreach (var (name, value) in ReadConfigFile(location, python))
            {
                if (SettingsTable.ByName.TryGetValue(name, out var setting))
                {
                    Apply(setting, value, SettingSource.ConfigFile, $"in {location.Display}");
                }
                else if (name == ServerNameKey)
                {
                    // A header value: latin-1 without control characters, so it cannot end the header line.
                    _settings.ServerName = value is string server && server.All(c => c is '\t' or (>= ' ' and not '\x7f' and <= '\xff')) ? server
                        : throw new ConfigException($"unicorn: gunicorn.SERVER in {location.Display} is not a header value: {value}");
                }
                else if (name == EnvironmentKey && value is Dictionary<string, string> environment)
                {
                    _settings.ConfigFileEnvironment = environment;
                }
                else if (name == PythonPathKey && value is List<string> paths)
                {
                    _settings.ConfigFilePythonPath = paths;
                }
                else if (location.Kind == ConfigLocationKind.Toml)
                {
                    // A Python file's other names are its own variables; a TOML key that is no setting is a typo
                    // (workres) or another server's table ([tool.gunicorn]): said once, as for a paste ini.
                    _settings.Warnings.Add($"Unknown setting '{name}' in {location.Display} ignored");
                }
            }
        }

        ApplyArguments(commandLine.Environment, SettingSource.Environment, "in GUNICORN_CMD_ARGS");
        ApplyArguments(commandLine.Argv, SettingSource.CommandLine, "");

        if (_badDefaults.Count > 0)
        {
            throw SettingsTable.All.Select(s => _badDefaults.GetValueOrDefault(s.Name)).First(e => e is not null)!;
        }

        if (_settings.AppUri is null && _settings.Get<string?>("paste") is null)
        {
            throw new ConfigException("unicorn: error: No application module specified.");
        }

        ResolveUvicornSubclass(python);
        RefuseUnsupported();
        return _settings;
    }

    /// <summary>
    /// uvicorn documents subclassing its worker to pass it settings (<c>CONFIG_KWARGS</c>); such a class runs as the
    /// uvicorn class it extends, with those settings applied over the others, as uvicorn's worker applies them.
    /// </summary>
    private void ResolveUvicornSubclass(IConfigFileSource? python)
    {
        var name = _settings.WorkerClass;
        if (python is null || name is null || WorkerClasses.IsSupported(name) || !name.Contains('.', StringComparison.Ordinal))
        {
            return;
        }

        string[] searchPath = [_settings.Chdir ?? _context.WorkingDirectory, .. _settings.PythonPathEntries];
        if (python.ReadWorkerClass(name, searchPath) is not { } subclass)
        {
            return;
        }

        var where = $"in {name}.CONFIG_KWARGS";
        foreach (var (setting, value) in UvicornConfigKwargs.ToSettings(name, subclass.ConfigKwargs))
        {
            Apply(SettingsTable.Get(setting), value, SettingSource.ConfigFile, where);
        }

        Apply(SettingsTable.Get("worker_class"), subclass.BaseClass, SettingSource.ConfigFile, where);
        _settings.WorkerSubclass = name;

        // factory=True: uvicorn calls what APP_MODULE names to get the app, as "module:make_app()" asks here.
        if (UvicornConfigKwargs.IsFactory(subclass.ConfigKwargs) && _settings.AppUri is { } app && !app.EndsWith(')'))
        {
            _settings.AppModule = app + "()";
        }
    }

    private void ApplyArguments(ParsedArguments arguments, SettingSource source, string where)
    {
        foreach (var (name, value) in arguments.Values)
        {
            Apply(SettingsTable.Get(name), value, source, where);
        }
    }

    private void Apply(Setting setting, object? value, SettingSource source, string where)
    {
        try
        {
            _settings.Set(setting.Name, setting.Validate(value, _context), source);
            _badDefaults.Remove(setting.Name);
        }
        catch (SettingValueException e)
        {
            var origin = source == SettingSource.Default ? (setting.DefaultEnvironmentVariable is { } variable ? $"(from ${variable})" : "(default)") : where;
            var flags = setting.Flags.Count > 0 ? $" ({setting.Display})" : "";
            var shown = value switch
            {
                string s => PythonRepr.Quote(s),
                IReadOnlyList<string> { Count: 1 } one => PythonRepr.Quote(one[0]),
                _ => Validators.Describe(value),
            };
            var message = $"unicorn: invalid value for {setting.Name}{flags}{(origin.Length > 0 ? " " + origin : "")}: {shown}: {e.Message}";
            if (source == SettingSource.Default)
            {
                _settings.Set(setting.Name, null, source);
                _badDefaults[setting.Name] = new ConfigException(message);
                return;
            }

            throw new ConfigException(message);
        }
    }

    private ConfigLocation? FindConfigFile(CommandLineResult commandLine, string? pasteConfig)
    {
        var named = commandLine.Argv.Values.GetValueOrDefault("config") ?? commandLine.Environment.Values.GetValueOrDefault("config") ?? pasteConfig;
        if (named is string text && Validators.ToStringOrNull(text) is { Length: > 0 } value)
        {
            var location = ConfigLocation.Parse(value, _context.WorkingDirectory);
            if (location.Kind != ConfigLocationKind.PythonModule && !File.Exists(location.Target))
            {
                throw new ConfigException(Directory.Exists(location.Target)
                    ? $"unicorn: error: config file '{value}' is a directory"
                    : $"unicorn: error: config file '{value}' doesn't exist");
            }

            return location;
        }

        var conventional = Path.Combine(_context.WorkingDirectory, "gunicorn.conf.py");
        if (File.Exists(conventional))
        {
            return new ConfigLocation(ConfigLocationKind.PythonFile, conventional);
        }

        var pyproject = Path.Combine(_context.WorkingDirectory, "pyproject.toml");
        return TomlConfigFile.HasUnicornTable(pyproject) ? new ConfigLocation(ConfigLocationKind.Toml, pyproject) : null;
    }

    /// <summary>
    /// <c>--paste FILE.ini[#name]</c> on the command line: the ini names the processes, is the <c>logconfig</c> when it
    /// has a <c>[loggers]</c> section, and its <c>[server:main]</c> (when it is Gunicorn's or Unicorn's) provides the
    /// framework layer of settings. Returns the <c>config</c> key of that section, a config file to read when no
    /// <c>-c</c> is given.
    /// </summary>
    private string? ApplyPaste(CommandLineResult commandLine)
    {
        if (commandLine.Argv.Values.GetValueOrDefault("paste") is not string given || Validators.ToStringOrNull(given) is not { Length: > 0 } paste)
        {
            return null;
        }

        var uri = Path.GetFullPath(Path.Combine(_context.WorkingDirectory, paste));
        var file = uri.Split('#')[0];
        if (!File.Exists(file))
        {
            throw new ConfigException($"unicorn: error: '{file}' not found");
        }

        _settings.PasteUri = uri;
        var ini = IniFile.Read(file);
        Apply(SettingsTable.Get("default_proc_name"), file, SettingSource.Framework, $"(--paste {paste})");
        if (ini.HasSection("loggers"))
        {
            // As Gunicorn's --paste: the ini is the log configuration of every process (the server's own lines included),
            // below a config file's or the command line's.
            Apply(SettingsTable.Get("logconfig"), file, SettingSource.Framework, $"(--paste {paste})");
        }

        const string server = "server:main";
        var use = ini.Get(server, "use");
        if (!ini.HasSection(server) || (use is not null && !IsOurServer(use)))
        {
            return null;
        }

        string? config = null;
        string? host = null;
        string? port = null;
        var where = $"in [{server}] of {file}";
        foreach (var key in ini.Keys(server))
        {
            var value = ini.Get(server, key);
            switch (key)
            {
                case "use":
                    break;
                case "config":
                    config = value;
                    break;
                case "host":
                    host = value;
                    break;
                case "port":
                    port = value;
                    break;
                default:
                    // Gunicorn's --paste reads none of this section, so a key an application keeps there for its own
                    // use (RhodeCode's memory_max_usage) must not stop the server: skipped, with a warning.
                    if (SettingsTable.ByName.GetValueOrDefault(key) is { } setting)
                    {
                        Apply(setting, value, SettingSource.Framework, where);
                    }
                    else
                    {
                        _settings.Warnings.Add($"Unknown setting '{key}' {where} ignored");
                    }

                    break;
            }
        }

        // As Gunicorn's paste runner: host and port make one address; a host alone may list several.
        if (!string.IsNullOrEmpty(host) || !string.IsNullOrEmpty(port))
        {
            object bind = !string.IsNullOrEmpty(port)
                ? $"{(string.IsNullOrEmpty(host) ? "0.0.0.0" : host)}:{port}"
                : host!.Split(',').Select(h => (object?)h.Trim()).ToList();
            Apply(SettingsTable.Get("bind"), bind, SettingSource.Framework, where);
        }

        return config;
    }

    private static bool IsOurServer(string use) =>
        use.Replace(" ", "", StringComparison.Ordinal) is "egg:gunicorn#main" or "egg:gunicorn" or "egg:unicorn-server#main"
            or "egg:unicorn-server" or "egg:unicorn#main" or "egg:unicorn" or "call:gunicorn.app.pasterapp:serve";

    // The bytes a Python config file has now, read just before the interpreter runs it (Settings.ConfigFileSource); a
    // larger file is left to be read again, as it would not fit the workers' environment.
    private static string? Snapshot(ConfigLocation location)
    {
        if (location.Kind != ConfigLocationKind.PythonFile)
        {
            return null;
        }

        try
        {
            var bytes = File.ReadAllBytes(location.Target);
            return bytes.Length <= 64 * 1024 ? Convert.ToBase64String(bytes) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // the interpreter's own read reports it
        }
    }

    /// <summary>What a Python config file's run reports for Gunicorn's <c>gunicorn.SERVER</c> when it changed it.</summary>
    public const string ServerNameKey = "gunicorn.SERVER";

    /// <summary>What the config file's module level set in <c>os.environ</c> (<see cref="Settings.ConfigFileEnvironment"/>).</summary>
    public const string EnvironmentKey = "os.environ";

    /// <summary>What it added to <c>sys.path</c> (<see cref="Settings.ConfigFilePythonPath"/>).</summary>
    public const string PythonPathKey = "sys.path";

    private IReadOnlyList<KeyValuePair<string, object?>> ReadConfigFile(ConfigLocation location, IConfigFileSource? python)
    {
        if (location.Kind == ConfigLocationKind.Toml)
        {
            return TomlConfigFile.Read(location.Target);
        }

        if (python is null)
        {
            throw new ConfigException($"unicorn: error: cannot read config file {location.Display}: no Python interpreter is available");
        }

        var names = SettingsTable.All.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        return python.Execute(location, names, _context.WorkingDirectory);
    }

    /// <summary>Accepted-but-ignored settings do not exist: a value Unicorn cannot honour stops the server.</summary>
    private void RefuseUnsupported()
    {
        var workerClass = _settings.WorkerClass;
        if (WorkerClasses.IsAiohttp(workerClass))
        {
            throw new ConfigException(
                $"unicorn: worker class '{workerClass}' (-k/--worker-class) is not supported: it serves an aiohttp.web.Application, " +
                "which is neither a WSGI nor an ASGI app; run it with aiohttp's own server (aiohttp.web.run_app), or port it to an ASGI " +
                "framework for --worker-class asgi");
        }

        if (WorkerClasses.IsGeventWebSocket(workerClass))
        {
            throw new ConfigException(
                $"unicorn: worker class '{workerClass}' (-k/--worker-class) is not supported: it hands the app the client socket " +
                "for websockets, which no Unicorn WSGI worker does; use --worker-class gevent (Socket.IO falls back to long-polling), " +
                "or serve websockets from an ASGI app (python-socketio's socketio.ASGIApp) with --worker-class asgi");
        }

        if (!WorkerClasses.IsSupported(workerClass))
        {
            throw new ConfigException(
                $"unicorn: worker class '{workerClass}' (-k/--worker-class) is not supported; use --worker-class gthread with --threads N, or gevent, instead");
        }

        // A parked spare would serve code imported before a change (reload), or hold a reuse_port slot the
        // kernel hands connections to while it accepts none.
        if (_settings.WorkerSpares > 0 && (_settings.Reload || _settings.ReusePort))
        {
            var other = _settings.Reload ? "reload (--reload)" : "reuse_port (--reuse-port)";
            throw new ConfigException($"unicorn: setting 'worker_spares' (--worker-spares) cannot be used with {other}; set worker_spares = 0");
        }

        foreach (var setting in SettingsTable.All.Where(s => !s.Supported))
        {
            var value = _settings.Get<object?>(setting.Name);
            var defaultValue = setting.Validate(setting.Default(_context), _context);
            if (PythonRepr.Format(value) != PythonRepr.Format(defaultValue))
            {
                var flags = setting.Flags.Count > 0 ? $" ({string.Join('/', setting.Flags)})" : "";
                var hint = setting.UnsupportedHint is { } h ? $"; {h}" : "";
                throw new ConfigException($"unicorn: setting '{setting.Name}'{flags} is not supported yet{hint}");
            }
        }
    }
}
