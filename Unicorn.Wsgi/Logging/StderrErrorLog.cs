using System.Globalization;

namespace Unicorn.Wsgi.Logging;

/// <summary>
/// Minimal error log in Gunicorn's line format, <c>[%Y-%m-%d %H:%M:%S %z] [pid] [LEVEL] message</c>,
/// to a TextWriter (stderr by default).
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

    public static string Format(DateTimeOffset time, int pid, LogLevel level, string message)
    {
        var offset = time.Offset;
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        var abs = offset.Duration();
        var stamp = string.Create(CultureInfo.InvariantCulture, $"{time:yyyy-MM-dd HH:mm:ss} {sign}{abs.Hours:00}{abs.Minutes:00}");
        return string.Create(CultureInfo.InvariantCulture, $"[{stamp}] [{pid}] [{LevelName(level)}] {message}\n");
    }

    public static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Debug => "DEBUG",
        LogLevel.Info => "INFO",
        LogLevel.Warning => "WARNING",
        LogLevel.Error => "ERROR",
        _ => "CRITICAL",
    };
}
