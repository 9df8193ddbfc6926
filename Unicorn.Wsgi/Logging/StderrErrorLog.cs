namespace Unicorn.Wsgi.Logging;

/// <summary>
/// Minimal error log in Gunicorn's line format to a TextWriter (stderr by default): for start-up, before
/// settings are known, and for tests. The server's real error log is <see cref="ErrorLog"/>.
/// </summary>
public sealed class StderrErrorLog(LogLevel minimum = LogLevel.Info, TextWriter? writer = null) : IErrorLog
{
    private readonly TextWriter _writer = writer ?? Console.Error;
    private readonly Lock _lock = new();

    public bool IsEnabled(LogLevel level) => level >= minimum;

    public void Log(LogLevel level, string message)
    {
        if (!IsEnabled(level))
        {
            return;
        }

        var line = Format(DateTimeOffset.Now, Environment.ProcessId, level, message);
        lock (_lock)
        {
            _writer.Write(line);
            _writer.Flush();
        }
    }

    public static string Format(DateTimeOffset time, int pid, LogLevel level, string message) =>
        ErrorLogLine.Format(time, pid, level, message);

    public static string LevelName(LogLevel level) => ErrorLogLine.LevelName(level);
}
