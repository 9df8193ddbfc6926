namespace Unicorn.Wsgi.Logging;

/// <summary><c>--log-syslog-facility</c> names and their codes (RFC 5424), as Gunicorn accepts them.</summary>
public static class SyslogFacility
{
    private static readonly Dictionary<string, int> Codes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["kern"] = 0,
        ["user"] = 1,
        ["mail"] = 2,
        ["daemon"] = 3,
        ["auth"] = 4,
        ["security"] = 4,
        ["syslog"] = 5,
        ["lpr"] = 6,
        ["news"] = 7,
        ["uucp"] = 8,
        ["cron"] = 9,
        ["authpriv"] = 10,
        ["ftp"] = 11,
        ["local0"] = 16,
        ["local1"] = 17,
        ["local2"] = 18,
        ["local3"] = 19,
        ["local4"] = 20,
        ["local5"] = 21,
        ["local6"] = 22,
        ["local7"] = 23,
    };

    public static int Parse(string name) =>
        Codes.TryGetValue(name, out var code)
            ? code
            : throw new FormatException($"--log-syslog-facility: unknown facility name '{name}'");

    /// <summary>The PRI of a message: facility * 8 + severity, with Python's level to severity mapping.</summary>
    public static int Priority(int facility, LogLevel level) => (facility << 3) | level switch
    {
        LogLevel.Debug => 7,
        LogLevel.Info => 6,
        LogLevel.Warning => 4,
        LogLevel.Error => 3,
        _ => 2,
    };
}
