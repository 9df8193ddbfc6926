using System.Globalization;
using NLog;
using NLog.Config;

namespace Unicorn.Wsgi.Logging;

/// <summary>
/// The server's error log (<c>gunicorn.error</c>): NLog routes each record by level to its targets, the
/// error-log file (stderr by default) and optionally syslog. The line is formatted by
/// <see cref="ErrorLogLine"/> rather than an NLog layout because NLog's date renderers have no strftime %z
/// (+hhmm without a colon), and the file is our <see cref="LogFile"/> rather than NLog's FileTarget because
/// logrotate's USR1 needs an explicit close-and-reopen of the same path and O_APPEND across processes,
/// which NLog's FileTarget doesn't offer.
/// </summary>
public sealed class ErrorLog : IErrorLog, IDisposable
{
    private readonly LogFactory _factory;
    private readonly Logger _logger;
    private readonly LogFile _file;
    private readonly StatsdClient? _statsd;
    private readonly LogLevel _minimum;
    private readonly IPythonLogging? _python;

    /// <param name="file">The error-log file; the log owns it.</param>
    /// <param name="minimum">--log-level.</param>
    /// <param name="syslog">Also send records to syslog (owned by the log).</param>
    /// <param name="syslogTag">Gunicorn's tag, e.g. "gunicorn.myapp.error".</param>
    /// <param name="statsd">Counts records at warning and above, as Gunicorn's statsd logger does.</param>
    public ErrorLog(LogFile file, LogLevel minimum = LogLevel.Info, SyslogClient? syslog = null,
        string syslogTag = "gunicorn.error", StatsdClient? statsd = null, IPythonLogging? python = null)
    {
        _file = file;
        // With a Python log config, the level is the one the user's config gave gunicorn.error.
        _minimum = python?.ErrorLevel ?? minimum;
        _statsd = statsd;
        _factory = new LogFactory { ThrowExceptions = false };
        var config = new LoggingConfiguration(_factory);
        var nlogMinimum = ToNLog(_minimum);
        _python = python;
        if (python is null)
        {
            config.AddRule(nlogMinimum, NLog.LogLevel.Fatal, new LogFileTarget(file) { Name = "errorlog" }, "gunicorn.error");
        }

        if (syslog is not null)
        {
            config.AddRule(nlogMinimum, NLog.LogLevel.Fatal, new SyslogTarget(syslog, syslogTag) { Name = "syslog" }, "gunicorn.error");
        }

        _factory.Configuration = config;
        _logger = _factory.GetLogger("gunicorn.error");
    }

    public LogLevel Minimum => _minimum;

    public bool IsEnabled(LogLevel level) => level >= _minimum;

    public void Log(LogLevel level, string message)
    {
        _statsd?.CountLog(level);
        if (IsEnabled(level))
        {
            // Straight to Python, not through an NLog target: NLog writes under a lock, and a caller holding
            // the GIL (an app thread) waiting for that lock while its holder waits for the GIL would deadlock.
            _python?.Error(level, message);
            _logger.Log(ToNLog(level), message);
        }
    }

    public void Exception(string message, string traceback)
    {
        _statsd?.Increment("gunicorn.log.exception");
        if (IsEnabled(LogLevel.Error))
        {
            var text = message + "\n" + traceback.TrimEnd('\n');
            _python?.Error(LogLevel.Error, text);
            _logger.Log(NLog.LogLevel.Error, text);
        }
    }

    public void Reopen()
    {
        _factory.Flush();
        _file.Reopen();
    }

    public void Dispose()
    {
        _factory.Shutdown();
        _factory.Dispose();
        _file.Dispose();
    }

    internal static NLog.LogLevel ToNLog(LogLevel level) => level switch
    {
        LogLevel.Debug => NLog.LogLevel.Debug,
        LogLevel.Info => NLog.LogLevel.Info,
        LogLevel.Warning => NLog.LogLevel.Warn,
        LogLevel.Error => NLog.LogLevel.Error,
        _ => NLog.LogLevel.Fatal,
    };

    internal static LogLevel FromNLog(NLog.LogLevel level) =>
        level.Ordinal switch
        {
            <= 1 => LogLevel.Debug, // Trace, Debug
            2 => LogLevel.Info,
            3 => LogLevel.Warning,
            4 => LogLevel.Error,
            _ => LogLevel.Critical,
        };

    internal static DateTimeOffset LocalTime(LogEventInfo record) =>
        record.TimeStamp.Kind == DateTimeKind.Utc
            ? TimeZoneInfo.ConvertTime(new DateTimeOffset(record.TimeStamp), TimeZoneInfo.Local)
            : new DateTimeOffset(record.TimeStamp);

    internal static string Message(LogEventInfo record) =>
        record.Parameters is { Length: > 0 } ? record.FormattedMessage : record.Message ?? "";

    /// <summary>Writes Gunicorn's line to the error-log file.</summary>
    private sealed class LogFileTarget(LogFile file) : NLog.Targets.Target
    {
        protected override void Write(LogEventInfo logEvent) =>
            file.Write(ErrorLogLine.Format(LocalTime(logEvent), Environment.ProcessId, FromNLog(logEvent.Level), Message(logEvent)));
    }

    /// <summary>Sends <c>TAG: [pid] message</c>, Gunicorn's syslog format.</summary>
    private sealed class SyslogTarget(SyslogClient client, string tag) : NLog.Targets.Target
    {
        protected override void Write(LogEventInfo logEvent) =>
            client.Send(FromNLog(logEvent.Level), string.Create(CultureInfo.InvariantCulture, $"{tag}: [{Environment.ProcessId}] {Message(logEvent)}"));

        protected override void CloseTarget()
        {
            client.Dispose();
            base.CloseTarget();
        }
    }
}
