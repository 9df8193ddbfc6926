namespace Unicorn.Wsgi.Logging;

/// <summary>
/// The error log as the rest of the server sees it (Gunicorn's <c>gunicorn.error</c> logger). Levels and
/// message text follow Gunicorn, because operators grep them.
/// </summary>
public interface IErrorLog
{
    bool IsEnabled(LogLevel level);

    void Log(LogLevel level, string message);

    void Debug(string message) => Log(LogLevel.Debug, message);
    void Info(string message) => Log(LogLevel.Info, message);
    void Warning(string message) => Log(LogLevel.Warning, message);
    void Error(string message) => Log(LogLevel.Error, message);
    void Critical(string message) => Log(LogLevel.Critical, message);

    /// <summary>Logs message at error level followed by a traceback (Python's, as text).</summary>
    void Exception(string message, string traceback) => Log(LogLevel.Error, message + "\n" + traceback.TrimEnd('\n'));

    /// <summary>As <see cref="Exception(string, string)"/>, called while the exception is the calling thread's handled
    /// Python exception, where Gunicorn calls <c>log.exception(format, *args)</c> in its except block: a
    /// <c>logger_class</c> with an <c>exception()</c> of its own is called so, with that exception live.</summary>
    void Exception(string message, string traceback, string format, params string[] args) => Exception(message, traceback);

    /// <summary>Sends one statsd metric, <c>NAME:VALUE|TYPE</c> without the prefix, when statsd is configured: what
    /// Gunicorn's statsd logger sends for a record with <c>extra={"mtype", "metric", "value"}</c> or a call of its
    /// <c>gauge</c>/<c>increment</c>/... (hooks' <c>worker.log</c>).</summary>
    void Metric(string metric)
    {
    }

    /// <summary>Reopens log files (USR1, after logrotate renamed them). Streams and sockets need nothing.</summary>
    void Reopen()
    {
    }
}

public enum LogLevel
{
    Debug = 10,
    Info = 20,
    Warning = 30,
    Error = 40,
    Critical = 50,
}
