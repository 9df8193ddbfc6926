using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Logging;

/// <summary>
/// Builds a process's logs from Gunicorn's logging settings: <c>errorlog</c>, <c>loglevel</c>,
/// <c>accesslog</c>, <c>access_log_format</c>, <c>syslog</c>, <c>syslog_addr</c>, <c>syslog_prefix</c>,
/// <c>syslog_facility</c>, <c>disable_redirect_access_to_syslog</c>, <c>statsd_host</c>,
/// <c>statsd_prefix</c>, <c>dogstatsd_tags</c> and <c>metrics_bind</c>. A setting that is absent takes
/// Gunicorn's default.
/// </summary>
public static class LoggingSetup
{
    /// <summary>Throws <see cref="LoggingSetupException"/> whose message is the one line to print
    /// (it names the flag or file at fault).</summary>
    /// <param name="python">Starts Python and applies a Python log configuration; called only when the
    /// settings give one (<see cref="PythonConfig"/>).</param>
    public static LoggingServices Create(Settings settings, Func<PythonLogConfig, IPythonLogging>? python = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        StatsdClient? statsd = null;
        ErrorLog? errorLog = null;
        try
        {
            var levelName = settings.LogLevel ?? "info";
            if (!ErrorLogLine.TryParseLevel(levelName, out var level))
            {
                throw new FormatException($"--log-level: '{levelName}' is not one of debug, info, warning, error, critical");
            }

            if (settings.StatsdHost is { } statsdHost)
            {
                statsd = new StatsdClient(statsdHost, settings.StatsdPrefix ?? "", settings.DogstatsdTags);
            }

            var syslogOn = settings.Syslog;
            var prefix = SyslogPrefix(settings);
            SyslogAddress? syslogAddress = null;
            var facility = 0;
            if (syslogOn)
            {
                syslogAddress = SyslogAddress.Parse(settings.SyslogAddr ?? SyslogAddress.Default);
                facility = SyslogFacility.Parse(settings.SyslogFacility ?? "user");
            }

            _ = CustomLoggerClass(settings);
            var owner = WorkerOwner(settings);
            var errorFile = LogFile.Open(settings.ErrorLog ?? "-", LogFile.Stderr, owner);
            if (settings.CaptureOutput)
            {
                errorFile.CaptureStandardStreams();
            }

            IPythonLogging? pythonLogging = null;
            if (PythonConfig(settings) is { } pythonConfig)
            {
                pythonLogging = python is null
                    ? throw new ArgumentException("Python log configurations need the Python bridge")
                    : python(pythonConfig);
            }

            errorLog = new ErrorLog(errorFile, level,
                syslogAddress is null ? null : new SyslogClient(syslogAddress, facility), $"gunicorn.{prefix}.error", statsd, pythonLogging);

            var format = settings.AccessLogFormat ?? AccessLogFormat.Default;
            if (WorkerClasses.IsUvicorn(settings.WorkerClass) && format != JsonAccessLogFormat.Name && AccessLogFormat.Problem(format) is { } problem)
            {
                // Gunicorn never applies access_log_format under uvicorn's worker (uvicorn writes its own line), so a
                // format it would reject there starts the server (FastAPI-template's '%r "-" %s "-" %Tf'): the default
                // is used, with a warning.
                errorLog.Log(LogLevel.Warning, $"{problem}; Gunicorn never uses it under {settings.WorkerClass}: the default format is used");
                format = AccessLogFormat.Default;
            }

            var accessTarget = settings.AccessLog;
            var accessSyslog = syslogAddress is not null && !settings.DisableRedirectAccessToSyslog
                ? new SyslogClient(syslogAddress, facility)
                : null;
            // With Python logging, Python's handler on gunicorn.access writes --access-logfile, as in Gunicorn.
            var accessFile = accessTarget is null || pythonLogging is not null ? null : LogFile.Open(accessTarget, LogFile.Stdout, owner);
            var accessLog = new AccessLog(format, accessFile, accessSyslog, $"gunicorn.{prefix}.access", errorLog, statsd: statsd, python: pythonLogging);

            var metricsBind = settings.MetricsBind;
            if (metricsBind is not null)
            {
                _ = Metrics.MetricsListener.ParseBind(metricsBind);
            }

            return new LoggingServices(errorLog, accessLog, statsd, metricsBind, OpenWorkerMetrics(errorLog), pythonLogging);
        }
        catch (Exception e) when (e is FormatException or IOException or ArgumentException)
        {
            errorLog?.Dispose();
            statsd?.Dispose();
            throw new LoggingSetupException(e.Message, e);
        }
    }

    /// <summary>The workers' uid and gid when <c>--user</c>/<c>--group</c> make them differ from this process's.</summary>
    private static (uint Uid, uint Gid)? WorkerOwner(Settings settings)
    {
        var uid = unchecked((uint)settings.User);
        var gid = unchecked((uint)settings.Group);
        return uid == Interop.Libc.geteuid() && gid == Interop.Libc.getegid() ? null : (uid, gid);
    }

    /// <summary>The Python log configuration the settings give, with Gunicorn's precedence: <c>logconfig_dict</c>,
    /// then <c>--log-config-json</c>, then <c>--log-config</c>; with a <c>logger_class</c> of the user's, that class
    /// (whose setup applies the configuration); null when neither (records stay in C#).
    /// A relative path is relative to <c>chdir</c>. Throws <see cref="IOException"/> for a file that does not exist.</summary>
    public static PythonLogConfig? PythonConfig(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var level = settings.LogLevel ?? "info";
        var errorLog = settings.ErrorLog ?? "-";
        var accessLog = settings.AccessLog;
        var config = LogConfig(settings, level, errorLog, accessLog);
        if (CustomLoggerClass(settings) is not { } loggerClass)
        {
            return config;
        }

        // The class's setup() applies the log configuration, if any, as Gunicorn's Logger.setup does.
        return (config ?? new PythonLogConfig("", "", level, errorLog, accessLog)) with
        {
            ConfigFile = PythonConfigFile(settings),
            LoggerClass = loggerClass,
            SettingsJson = settings.ValuesJson(),
        };
    }

    private static PythonLogConfig? LogConfig(Settings settings, string level, string errorLog, string? accessLog)
    {
        if (settings.LogConfigDict is System.Collections.IDictionary { Count: > 0 } dict)
        {
            return new PythonLogConfig("dict", Settings.PlainJson(ForDictConfig(dict)), level, errorLog, accessLog,
                PythonConfigFile(settings));
        }

        foreach (var (path, kind) in (ReadOnlySpan<(string?, string)>)[(settings.LogConfigJson, "json"), (settings.LogConfig, "ini")])
        {
            if (path is { Length: > 0 })
            {
                // Relative to --chdir, as Gunicorn (it chdirs before it sets up logging); master and workers
                // resolve against the same absolute directory, whatever their current directory is.
                var full = Path.GetFullPath(path, settings.Chdir ?? Directory.GetCurrentDirectory());
                // A paste ini's [loggers] made it the logconfig: a refusal names --paste, which the user gave.
                var option = kind == "ini" && settings.LogConfigIsPasteIni ? "--paste" : null;
                return File.Exists(full)
                    ? new PythonLogConfig(kind, full, level, errorLog, accessLog) { Option = option }
                    : throw new IOException($"Error: log config '{path}' not found");
            }
        }

        return null;
    }

    // The Python config file, which classes named "__config__.X" come from (null for a TOML file or a python: module).
    private static string? PythonConfigFile(Settings settings) =>
        settings.ConfigFile is { } file && !file.StartsWith("python:", StringComparison.Ordinal)
            && !file.EndsWith(".toml", StringComparison.OrdinalIgnoreCase) ? file : null;

    // A class in logconfig_dict ("()": JsonFormatter, "class": logging.StreamHandler) goes to Python as its dotted
    // name, which dictConfig resolves by import ("__config__.JsonFormatter" is the config file, run under that name
    // in every process, as Gunicorn runs it); serialised as a record it reached dictConfig as a dict it refused.
    private static object? ForDictConfig(object? value) => value switch
    {
        PythonClass c => c.FullName,
        System.Collections.IDictionary d => d.Keys.Cast<object>().ToDictionary(k => k.ToString()!, k => ForDictConfig(d[k]), StringComparer.Ordinal),
        System.Collections.IList l => l.Cast<object?>().Select(ForDictConfig).ToList(),
        _ => value,
    };

    /// <summary>A <c>logger_class</c> of the user's, or null for Gunicorn's own (also spelled 'simple' or
    /// 'glogging.Logger') and its statsd one, which Unicorn implements and becomes anyway with --statsd-host.</summary>
    private static string? CustomLoggerClass(Settings settings)
    {
        var name = settings.LoggerClass ?? "gunicorn.glogging.Logger";
        if (name is "gunicorn.glogging.Logger" or "simple" or "glogging.Logger")
        {
            return null;
        }

        if (name is "gunicorn.instrument.statsd.Statsd")
        {
            return settings.StatsdHost is not null ? null
                : throw new FormatException("--logger-class: gunicorn.instrument.statsd.Statsd needs --statsd-host");
        }

        return name.Contains('.', StringComparison.Ordinal) ? name
            : throw new FormatException($"--logger-class: '{name}' is not a dotted class name (module.Class)");
    }

    // A worker whose metrics slot can't be mapped still serves; the scrape just lacks it.
    private static Metrics.WorkerMetrics? OpenWorkerMetrics(IErrorLog log)
    {
        try
        {
            return Metrics.MetricsEnvironment.OpenForWorker(Environment.ProcessId);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            log.Warning($"Metrics disabled in this worker: {e.Message}");
            return null;
        }
    }

    /// <summary><c>syslog_prefix</c>, else the process name with ':' turned into '.', as Gunicorn tags records.</summary>
    public static string SyslogPrefix(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var prefix = settings.SyslogPrefix;
        if (!string.IsNullOrEmpty(prefix))
        {
            return prefix;
        }

        return settings.ProcName.Replace(':', '.');
    }
}
