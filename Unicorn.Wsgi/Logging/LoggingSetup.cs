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
    public static LoggingServices Create(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        StatsdClient? statsd = null;
        ErrorLog? errorLog = null;
        try
        {
            var levelName = Text(settings, "loglevel") ?? "info";
            if (!ErrorLogLine.TryParseLevel(levelName, out var level))
            {
                throw new FormatException($"--log-level: '{levelName}' is not one of debug, info, warning, error, critical");
            }

            if (Text(settings, "statsd_host") is { Length: > 0 } statsdHost)
            {
                statsd = new StatsdClient(statsdHost, Text(settings, "statsd_prefix") ?? "", Text(settings, "dogstatsd_tags"));
            }

            var syslogOn = Flag(settings, "syslog");
            var prefix = SyslogPrefix(settings);
            SyslogAddress? syslogAddress = null;
            var facility = 0;
            if (syslogOn)
            {
                syslogAddress = SyslogAddress.Parse(Text(settings, "syslog_addr") ?? SyslogAddress.Default);
                facility = SyslogFacility.Parse(Text(settings, "syslog_facility") ?? "user");
            }

            var errorFile = LogFile.Open(Text(settings, "errorlog") ?? "-", LogFile.Stderr);
            errorLog = new ErrorLog(errorFile, level,
                syslogAddress is null ? null : new SyslogClient(syslogAddress, facility), $"gunicorn.{prefix}.error", statsd);

            var format = Text(settings, "access_log_format") ?? AccessLogFormat.Default;
            var accessTarget = Text(settings, "accesslog");
            var accessSyslog = syslogAddress is not null && !Flag(settings, "disable_redirect_access_to_syslog")
                ? new SyslogClient(syslogAddress, facility)
                : null;
            var accessLog = new AccessLog(format, accessTarget is null ? null : LogFile.Open(accessTarget, LogFile.Stdout),
                accessSyslog, $"gunicorn.{prefix}.access", errorLog, statsd: statsd);

            var metricsBind = Text(settings, "metrics_bind");
            if (metricsBind is not null)
            {
                _ = Metrics.MetricsListener.ParseBind(metricsBind);
            }

            return new LoggingServices(errorLog, accessLog, statsd, metricsBind, OpenWorkerMetrics(errorLog));
        }
        catch (Exception e) when (e is FormatException or IOException or ArgumentException)
        {
            errorLog?.Dispose();
            statsd?.Dispose();
            throw new LoggingSetupException(e.Message, e);
        }
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
        var prefix = Text(settings, "syslog_prefix");
        if (!string.IsNullOrEmpty(prefix))
        {
            return prefix;
        }

        var procName = Text(settings, "proc_name") ?? Text(settings, "default_proc_name") ?? "gunicorn";
        return procName.Replace(':', '.');
    }

    private static string? Text(Settings settings, string name) =>
        settings.Contains(name) ? settings.Get<object?>(name)?.ToString() : null;

    private static bool Flag(Settings settings, string name) =>
        settings.Contains(name) && settings.Get<object?>(name) is true;
}
