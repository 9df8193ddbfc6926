namespace Unicorn.Wsgi.Logging;

/// <summary>
/// Python's <c>logging</c> as the destination of the server's records, when the user gives a Python log
/// configuration (<c>--log-config</c>, <c>--log-config-json</c>, <c>logconfig_dict</c>): error-log records go
/// to the logger <c>gunicorn.error</c>, access lines to <c>gunicorn.access</c>, so the user's handlers,
/// formatters and levels apply as under Gunicorn. Implemented by the Python bridge; each call takes the GIL.
/// </summary>
public interface IPythonLogging
{
    /// <summary>The effective level of <c>gunicorn.error</c> once configured: records below it are not sent.</summary>
    LogLevel ErrorLevel { get; }

    /// <summary>One error-log record at <paramref name="level"/> (Python's logger filters by its own level).</summary>
    void Error(LogLevel level, string message);

    /// <summary>One error record with a traceback: Gunicorn logs these with <c>log.exception</c>, so a formatter sees
    /// the message alone and the traceback apart (as the record's <c>exc_text</c>).</summary>
    void Exception(string message, string traceback) => Error(LogLevel.Error, message + "\n" + traceback.TrimEnd('\n'));

    /// <summary>As <see cref="Exception(string, string)"/>, called while the exception is the calling thread's handled
    /// Python exception: a logger class with an <c>exception()</c> of its own gets <c>exception(format, *args)</c> then, as
    /// Gunicorn calls it in its except block.</summary>
    void Exception(string message, string traceback, string format, params string[] args) => Exception(message, traceback);

    /// <summary>One access line. <paramref name="atoms"/> become the record's args, as Gunicorn passes them;
    /// the record's message is <paramref name="line"/>. With a logger class of the user's, its <c>access()</c> is
    /// called with <paramref name="entry"/> instead. Called from the access log's writer thread.</summary>
    void Access(AccessLogEntry entry, string line, IReadOnlyList<KeyValuePair<string, object>> atoms);

    /// <summary>USR1: reopen every <c>logging.FileHandler</c>'s file.</summary>
    void Reopen();

    /// <summary>Python is about to shut down: later records are dropped instead of waiting for a GIL that
    /// will never be released.</summary>
    void Close();
}

/// <summary>
/// Python's <c>gunicorn.access</c> logger where no Python log config is given but the app or a hook changed it
/// (a filter dropping health checks, a level, <c>disabled</c>, its own handlers, a formatter on Gunicorn's handler):
/// each line is logged through it, as Gunicorn logs every access line, and Unicorn writes what its handler received.
/// </summary>
public interface IAccessLogGate
{
    /// <summary>Logs one line through the logger (<paramref name="atoms"/> are the record's args); returns the line to
    /// write, formatted by the handler's formatter if it was given one, or null when the logger dropped it.</summary>
    string? Pass(string line, IReadOnlyList<KeyValuePair<string, object>> atoms);

    /// <summary>Python is about to shut down: later lines pass unchanged instead of waiting for the GIL.</summary>
    void Close();
}

/// <summary>Which Python log configuration to apply, with Gunicorn's precedence (dict, then JSON file, then ini file).</summary>
/// <param name="Kind">"dict", "json" or "ini".</param>
/// <param name="Source">The dictionary as JSON text for "dict"; the file path otherwise.</param>
/// <param name="LogLevel">--log-level, the level of <c>gunicorn.error</c> unless the configuration sets one.</param>
/// <param name="ErrorLog">--error-logfile: Gunicorn's own handler on <c>gunicorn.error</c> ("-" is stderr).</param>
/// <param name="AccessLog">--access-logfile: Gunicorn's own handler on <c>gunicorn.access</c> (null: none).</param>
/// <param name="ConfigFile">The Python config file, loaded as <c>__config__</c> before the dictionary is applied when
/// it names a class defined there, or when <paramref name="LoggerClass"/> is one (null: none).</param>
/// <param name="LoggerClass">A <c>logger_class</c> of the user's, by dotted name: every record goes through an
/// instance of it, as in Gunicorn (null: Gunicorn's own). <paramref name="Kind"/> is then "" when no log
/// configuration is given.</param>
/// <param name="SettingsJson">With <paramref name="LoggerClass"/>: the settings, the class's <c>cfg</c>.</param>
public sealed record PythonLogConfig(string Kind, string Source, string LogLevel, string ErrorLog, string? AccessLog,
    string? ConfigFile = null, string? LoggerClass = null, string? SettingsJson = null)
{
    /// <summary>The option a refusal names when it is not <paramref name="Kind"/>'s own (<c>--paste</c> for the ini a
    /// paste file's <c>[loggers]</c> made the <c>logconfig</c>); null: the kind's.</summary>
    public string? Option { get; init; }
}
