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

        var location = FindConfigFile(commandLine);
        if (location is not null)
        {
            _settings.ConfigFile = location.Display;
            foreach (var (name, value) in ReadConfigFile(location, python))
            {
                if (SettingsTable.ByName.TryGetValue(name, out var setting))
                {
                    Apply(setting, value, SettingSource.ConfigFile, $"in {location.Display}");
                }
            }
        }

        ApplyArguments(commandLine.Environment, SettingSource.Environment, "in GUNICORN_CMD_ARGS");
        ApplyArguments(commandLine.Argv, SettingSource.CommandLine, "");

        if (_settings.AppUri is null && _settings.Get<string?>("paste") is null)
        {
            throw new ConfigException("unicorn: error: No application module specified.");
        }

        RefuseUnsupported();
        return _settings;
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
        }
        catch (SettingValueException e)
        {
            var origin = source == SettingSource.Default ? "(its default reads the environment)" : where;
            var flags = setting.Flags.Count > 0 ? $" ({setting.Display})" : "";
            var shown = value switch
            {
                string s => PythonRepr.Quote(s),
                IReadOnlyList<string> { Count: 1 } one => PythonRepr.Quote(one[0]),
                _ => Validators.Describe(value),
            };
            var message = $"unicorn: invalid value for {setting.Name}{flags}{(origin.Length > 0 ? " " + origin : "")}: {shown}: {e.Message}";
            throw new ConfigException(message);
        }
    }

    private ConfigLocation? FindConfigFile(CommandLineResult commandLine)
    {
        var named = commandLine.Argv.Values.GetValueOrDefault("config") ?? commandLine.Environment.Values.GetValueOrDefault("config");
        if (named is string text && Validators.ToStringOrNull(text) is { Length: > 0 } value)
        {
            var location = ConfigLocation.Parse(value, _context.WorkingDirectory);
            if (location.Kind != ConfigLocationKind.PythonModule && !File.Exists(location.Target))
            {
                throw new ConfigException($"unicorn: error: config file '{value}' doesn't exist");
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
        if (!WorkerClasses.IsSupported(workerClass))
        {
            throw new ConfigException(
                $"unicorn: worker class '{workerClass}' (-k/--worker-class) is not supported; use --worker-class gthread with --threads N instead");
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
