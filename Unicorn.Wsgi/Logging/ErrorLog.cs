using System.Globalization;

namespace Unicorn.Wsgi.Logging;

/// <summary>
/// The server's error log (<c>gunicorn.error</c>): each record at or above the level goes to the error-log file
/// (stderr by default; not with a Python log config, whose handlers write it) and optionally syslog, as Gunicorn's
/// line (<see cref="ErrorLogLine"/>, with strftime's %z). Both targets serialise their own writes and never throw.
/// They are called directly: NLog routed records to them until its start-up (~20-40 ms of CPU and its types in
/// every worker, whose boot HUP, TTIN and max_requests wait for) was found to be most of a worker's logging set-up,
/// for a routing by level that is one comparison.
/// </summary>
public sealed class ErrorLog : IErrorLog, IDisposable
{
    private readonly LogFile? _file;
    private readonly LogFile _owned;
    private readonly SyslogClient? _syslog;
    private readonly string _syslogTag;
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
        _owned = file;
        // With a Python log config, the level is the one the user's config gave gunicorn.error, and its handlers
        // write the file.
        _minimum = python?.ErrorLevel ?? minimum;
        _file = python is null ? file : null;
        _syslog = syslog;
        _syslogTag = syslogTag;
        _statsd = statsd;
        _python = python;
    }

    public LogLevel Minimum => _minimum;

    public bool IsEnabled(LogLevel level) => level >= _minimum;

    public void Log(LogLevel level, string message)
    {
        _statsd?.CountLog(level);
        if (IsEnabled(level))
        {
            _python?.Error(level, message);
            Write(level, message);
        }
    }

    public void Exception(string message, string traceback)
    {
        _statsd?.Increment("gunicorn.log.exception");
        if (IsEnabled(LogLevel.Error))
        {
            _python?.Exception(message, traceback);
            Write(LogLevel.Error, message + "\n" + traceback.TrimEnd('\n'));
        }
    }

    public void Exception(string message, string traceback, string format, params string[] args)
    {
        _statsd?.Increment("gunicorn.log.exception");
        if (IsEnabled(LogLevel.Error))
        {
            _python?.Exception(message, traceback, format, args);
            Write(LogLevel.Error, message + "\n" + traceback.TrimEnd('\n'));
        }
    }

    public void Metric(string metric) => _statsd?.Send(metric);

    public void Reopen() => _owned.Reopen();

    public void Dispose()
    {
        _syslog?.Dispose();
        _owned.Dispose();
    }

    private void Write(LogLevel level, string message)
    {
        _file?.Write(ErrorLogLine.Format(DateTimeOffset.Now, Environment.ProcessId, level, message));
        _syslog?.Send(level, string.Create(CultureInfo.InvariantCulture, $"{_syslogTag}: [{Environment.ProcessId}] {message}"));
    }
}
