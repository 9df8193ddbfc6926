using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Unicorn.Wsgi.Logging;

/// <summary>
/// The opt-in JSON access log (<c>--access-logformat json</c>): one object per line, every string escaped
/// by System.Text.Json (quotes, backslashes and control bytes can't break a line or forge a field).
/// Fields: time (ISO 8601, local offset), remote_addr, user, method, uri (raw target), path, query,
/// protocol, status (number), bytes (number or null), referer, user_agent, duration_us, pid.
/// </summary>
public static class JsonAccessLogFormat
{
    public const string Name = "json";

    private static readonly JsonWriterOptions Options = new()
    {
        // Keeps non-ASCII readable; quotes, backslash and control characters are still escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Format(AccessLogEntry entry)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        Write(entry, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static void Write(AccessLogEntry entry, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(entry);
        using var json = new Utf8JsonWriter(output, Options);
        json.WriteStartObject();
        json.WriteString("time", TimeZoneInfo.ConvertTime(entry.EndTime, TimeZoneInfo.Local).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", System.Globalization.CultureInfo.InvariantCulture));
        json.WriteString("remote_addr", entry.RemoteAddress);
        json.WriteString("user", AccessLogAtoms.BasicAuthUser(Header(entry, "authorization")));
        json.WriteString("method", entry.Method);
        json.WriteString("uri", entry.RawUri);
        json.WriteString("path", entry.Path);
        json.WriteString("query", entry.Query);
        json.WriteString("protocol", entry.Protocol);
        json.WriteNumber("status", entry.StatusCode);
        if (entry.ResponseLength is { } sent)
        {
            json.WriteNumber("bytes", sent);
        }
        else
        {
            json.WriteNull("bytes");
        }

        json.WriteString("referer", Header(entry, "referer"));
        json.WriteString("user_agent", Header(entry, "user-agent"));
        json.WriteNumber("duration_us", entry.Duration.Ticks / 10);
        json.WriteNumber("pid", entry.Pid);
        json.WriteEndObject();
    }

    private static string? Header(AccessLogEntry entry, string name)
    {
        string? joined = null;
        foreach (var (key, value) in entry.RequestHeaders)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                joined = joined is null ? value : joined + "," + value;
            }
        }

        return joined;
    }
}
