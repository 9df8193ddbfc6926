using System.Globalization;

namespace Unicorn.Wsgi.Logging;

/// <summary>One atom's value: text (already quote-escaped) or, for T, D, M and B, a number.</summary>
internal readonly record struct AtomValue(string? Text, long Number)
{
    public static AtomValue Of(string text) => new(AccessLogAtoms.Escape(text), 0);

    public static AtomValue Of(long number) => new(null, number);
}

/// <summary>
/// Gunicorn's access-log atoms for one request. As in Gunicorn: every text value has <c>"</c> escaped as
/// <c>\"</c> (nothing else is escaped); names in braces are case-insensitive, other names exact; an
/// unknown atom is "-".
/// </summary>
internal readonly struct AccessLogAtoms(AccessLogEntry entry)
{
    public enum Kind
    {
        Unknown, RemoteAddress, Ident, User, Time, RequestLine, Status, Method, Path, Query, Protocol,
        BytesOrDash, Bytes, Referer, UserAgent, Seconds, Micros, Millis, SecondsDecimal, Pid,
        RequestHeader, ResponseHeader, Environ,
    }

    public sealed record Atom(Kind Kind, string Name);

    public static Atom Compile(string key)
    {
        if (key.StartsWith('{'))
        {
            var lower = key.ToLowerInvariant();
            var close = lower.LastIndexOf('}');
            if (close > 0 && close == lower.Length - 2)
            {
                var name = lower[1..close];
                switch (lower[^1])
                {
                    case 'i': return new Atom(Kind.RequestHeader, name);
                    case 'o': return new Atom(Kind.ResponseHeader, name);
                    case 'e': return new Atom(Kind.Environ, name);
                    default: break;
                }
            }

            return new Atom(Kind.Unknown, key);
        }

        var kind = key switch
        {
            "h" => Kind.RemoteAddress,
            "l" => Kind.Ident,
            "u" => Kind.User,
            "t" => Kind.Time,
            "r" => Kind.RequestLine,
            "s" => Kind.Status,
            "m" => Kind.Method,
            "U" => Kind.Path,
            "q" => Kind.Query,
            "H" => Kind.Protocol,
            "b" => Kind.BytesOrDash,
            "B" => Kind.Bytes,
            "f" => Kind.Referer,
            "a" => Kind.UserAgent,
            "T" => Kind.Seconds,
            "D" => Kind.Micros,
            "M" => Kind.Millis,
            "L" => Kind.SecondsDecimal,
            "p" => Kind.Pid,
            _ => Kind.Unknown,
        };
        return new Atom(kind, key);
    }

    /// <summary>One atom's value. For a <see cref="AccessLogEntry.Refused"/> request, the atoms Gunicorn reads from its
    /// (then header-less) environ say so: u, f, a are "-" and U is "None".</summary>
    public AtomValue Get(Atom atom)
    {
        // timedelta's seconds and microseconds, as Gunicorn reads them (the days part is not counted).
        var ticks = entry.Duration.Ticks % TimeSpan.TicksPerDay;
        var seconds = ticks / TimeSpan.TicksPerSecond;
        var micros = ticks % TimeSpan.TicksPerSecond / 10;
        return atom.Kind switch
        {
            Kind.RemoteAddress => AtomValue.Of(entry.RemoteAddress ?? "-"),
            Kind.Ident => AtomValue.Of("-"),
            Kind.User => AtomValue.Of((entry.Refused ? null : BasicAuthUser(JoinedHeader("authorization"))) ?? "-"),
            Kind.Time => AtomValue.Of(ApacheTime(entry.EndTime)),
            Kind.RequestLine => AtomValue.Of(entry.Method + " " + entry.RawUri + " " + entry.Protocol),
            Kind.Status => AtomValue.Of(StatusWord(entry.Status)),
            Kind.Method => AtomValue.Of(entry.Method),
            Kind.Path => AtomValue.Of(entry.Refused ? "None" : entry.Path),
            Kind.Query => AtomValue.Of(entry.Query),
            Kind.Protocol => AtomValue.Of(entry.Protocol),
            Kind.BytesOrDash => AtomValue.Of(entry.ResponseLength?.ToString(CultureInfo.InvariantCulture) ?? "-"),
            Kind.Bytes => entry.ResponseLength is { } sent ? AtomValue.Of(sent) : AtomValue.Of("-"),
            Kind.Referer => AtomValue.Of((entry.Refused ? null : JoinedHeader("referer")) ?? "-"),
            Kind.UserAgent => AtomValue.Of((entry.Refused ? null : JoinedHeader("user-agent")) ?? "-"),
            Kind.Seconds => AtomValue.Of(seconds),
            Kind.Micros => AtomValue.Of((seconds * 1_000_000) + micros),
            Kind.Millis => AtomValue.Of((seconds * 1000) + (micros / 1000)),
            Kind.SecondsDecimal => AtomValue.Of(string.Create(CultureInfo.InvariantCulture, $"{seconds}.{micros:000000}")),
            Kind.Pid => AtomValue.Of(string.Create(CultureInfo.InvariantCulture, $"<{entry.Pid}>")),
            Kind.RequestHeader => AtomValue.Of(LastHeader(entry.RequestHeaders, atom.Name) ?? "-"),
            Kind.ResponseHeader => AtomValue.Of(LastHeader(entry.ResponseHeaders, atom.Name) ?? "-"),
            Kind.Environ => AtomValue.Of(entry.Environ?.Invoke().GetValueOrDefault(atom.Name) ?? "-"),
            _ => AtomValue.Of("-"),
        };
    }

    /// <summary>Gunicorn's only escaping: a double quote becomes \".</summary>
    public static string Escape(string text) =>
        text.Contains('"', StringComparison.Ordinal) ? text.Replace("\"", "\\\"", StringComparison.Ordinal) : text;

    /// <summary>strftime('[%d/%b/%Y:%H:%M:%S %z]') in the local time zone, C locale month names. The last
    /// second's text is cached: a busy log formats the same second thousands of times.</summary>
    public static string ApacheTime(DateTimeOffset time)
    {
        var second = time.UtcTicks / TimeSpan.TicksPerSecond;
        var cached = _lastTime;
        if (cached is not null && cached.Second == second)
        {
            return cached.Text;
        }

        var local = TimeZoneInfo.ConvertTime(time, TimeZoneInfo.Local);
        var text = string.Create(CultureInfo.InvariantCulture, $"[{local:dd/MMM/yyyy:HH:mm:ss} {ErrorLogLine.Offset(local.Offset)}]");
        _lastTime = new CachedTime(second, text);
        return text;
    }

    private sealed record CachedTime(long Second, string Text);

    private static volatile CachedTime? _lastTime;

    public static string StatusWord(string status)
    {
        var span = status.AsSpan().Trim();
        var end = span.IndexOfAny(' ', '\t');
        return (end >= 0 ? span[..end] : span).ToString();
    }

    /// <summary>The user name of a Basic Authorization header, decoded as Gunicorn 26.1 does (lenient base64,
    /// the bytes before the first colon or all of them, strict UTF-8); null when there is none.</summary>
    public static string? BasicAuthUser(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("basic", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var space = authorization.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0 || !LenientBase64.TryDecode(authorization[(space + 1)..].Trim(), out var bytes))
        {
            return null;
        }

        // Gunicorn 26.1: the bytes before the first colon (all of them without one), and only they must be UTF-8.
        var colon = Array.IndexOf(bytes, (byte)':');
        var userBytes = colon >= 0 ? bytes.AsSpan(0, colon) : bytes;
        if (userBytes.IsEmpty)
        {
            return null; // an empty user logs "-"
        }

        try
        {
            return new System.Text.UTF8Encoding(false, true).GetString(userBytes);
        }
        catch (System.Text.DecoderFallbackException)
        {
            return null;
        }
    }

    private static string? LastHeader(IReadOnlyList<KeyValuePair<string, string>> headers, string lowerName)
    {
        for (var i = headers.Count - 1; i >= 0; i--)
        {
            if (string.Equals(headers[i].Key, lowerName, StringComparison.OrdinalIgnoreCase))
            {
                return headers[i].Value;
            }
        }

        return null;
    }

    // What environ holds for a header: duplicates joined with ",".
    private string? JoinedHeader(string lowerName)
    {
        string? joined = null;
        foreach (var (name, value) in entry.RequestHeaders)
        {
            if (string.Equals(name, lowerName, StringComparison.OrdinalIgnoreCase))
            {
                joined = joined is null ? value : joined + "," + value;
            }
        }

        return joined;
    }
}
