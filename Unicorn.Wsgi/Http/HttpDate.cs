using System.Text;

namespace Unicorn.Wsgi.Http;

/// <summary>The Date header value (RFC 9110 IMF-fixdate), formatted at most once a second.</summary>
public static class HttpDate
{
    private static Cached? _cached;

    /// <summary>The current time, e.g. "Fri, 27 Nov 2026 20:41:02 GMT", as ASCII bytes. Thread-safe.</summary>
    public static ReadOnlySpan<byte> NowBytes()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var c = Volatile.Read(ref _cached);
        if (c is null || c.Second != now)
        {
            c = new Cached(now, Encoding.ASCII.GetBytes(Format(DateTimeOffset.FromUnixTimeSeconds(now))));
            Volatile.Write(ref _cached, c);
        }
        return c.Bytes;
    }

    public static string Format(DateTimeOffset time) =>
        time.UtcDateTime.ToString("r", System.Globalization.CultureInfo.InvariantCulture);

    private sealed record Cached(long Second, byte[] Bytes);
}
