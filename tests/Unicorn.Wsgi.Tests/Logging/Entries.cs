using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Tests.Logging;

/// <summary>The request the format tests log; the expected lines were produced by Gunicorn 20.1's
/// glogging (Logger.atoms + SafeAtoms) from the same data.</summary>
internal static class Entries
{
    public static AccessLogEntry Sample(TimeSpan? duration = null, long? sent = 1234) => new()
    {
        Method = "GET",
        RawUri = "/p%20a?x=1&y=\"2\"",
        Path = "/p a",
        Query = "x=1&y=\"2\"",
        Protocol = "HTTP/1.1",
        RemoteAddress = "127.0.0.1",
        Status = "200 OK",
        ResponseLength = sent,
        RequestHeaders =
        [
            new("Host", "example.com"),
            new("User-Agent", "curl/8 \"x\""),
            new("Referer", "http://r/"),
            new("Authorization", "Basic dXNlcjpwYXNz"),
            new("X-Ctl", "a\u0001b\tc\u007fd\u00e9"),
            new("X-Dup", "1"),
            new("X-Dup", "2"),
        ],
        ResponseHeaders = [new("Content-Type", "text/plain"), new("X-Quote", "a\"b"), new("X-Dup", "1"), new("X-Dup", "2")],
        Environ = () => new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["wsgi.url_scheme"] = "http",
            ["REMOTE_ADDR"] = "127.0.0.1",
        },
        StartTime = new DateTimeOffset(2026, 11, 27, 20, 30, 0, TimeSpan.Zero),
        Duration = duration ?? new TimeSpan(0, 0, 0, 2, 345, 678),
        Pid = 4242,
    };
}
