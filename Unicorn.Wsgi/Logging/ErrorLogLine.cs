using System.Globalization;

namespace Unicorn.Wsgi.Logging;

/// <summary>Gunicorn's error-log line, <c>[%Y-%m-%d %H:%M:%S %z] [pid] [LEVEL] message</c>, and its level names.</summary>
public static class ErrorLogLine
{
    public static string Format(DateTimeOffset time, int pid, LogLevel level, string message) =>
        string.Create(CultureInfo.InvariantCulture, $"[{time:yyyy-MM-dd HH:mm:ss} {Offset(time.Offset)}] [{pid}] [{LevelName(level)}] {message}\n");

    /// <summary>strftime's %z: +hhmm, no colon (.NET's "zzz" has one).</summary>
    public static string Offset(TimeSpan offset)
    {
        var abs = offset.Duration();
        return string.Create(CultureInfo.InvariantCulture, $"{(offset < TimeSpan.Zero ? '-' : '+')}{abs.Hours:00}{abs.Minutes:00}");
    }

    public static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Debug => "DEBUG",
        LogLevel.Info => "INFO",
        LogLevel.Warning => "WARNING",
        LogLevel.Error => "ERROR",
        _ => "CRITICAL",
    };

    /// <summary>Parses <c>--log-level</c>. Gunicorn falls back to info for an unknown name; we refuse it.</summary>
    public static bool TryParseLevel(string? name, out LogLevel level)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case "debug": level = LogLevel.Debug; return true;
            case "info": level = LogLevel.Info; return true;
            case "warning": level = LogLevel.Warning; return true;
            case "error": level = LogLevel.Error; return true;
            case "critical": level = LogLevel.Critical; return true;
            default: level = LogLevel.Info; return false;
        }
    }
}
