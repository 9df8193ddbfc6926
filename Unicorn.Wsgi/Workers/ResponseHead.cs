using System.Globalization;
using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// The status and headers of one response, validated and with Gunicorn's framing decided: an app header
/// with CR/LF/NUL or an invalid name is refused (the bridge answers 500), hop-by-hop headers from the
/// app are dropped, and Server/Date/Connection/Transfer-Encoding are the server's.
/// </summary>
internal sealed class ResponseHead
{
    private static readonly byte[] ServerLine = "Server: unicorn\r\n"u8.ToArray();

    private ResponseHead(string status, int statusCode, List<KeyValuePair<string, string>> headers, int versionMinor)
    {
        Status = status;
        StatusCode = statusCode;
        Headers = headers;
        VersionMinor = versionMinor;
    }

    public string Status { get; }

    public int StatusCode { get; }

    public List<KeyValuePair<string, string>> Headers { get; }

    public int VersionMinor { get; }

    public long? ContentLength { get; private set; }

    public bool Chunked { get; private set; }

    public bool NoBody { get; private set; }

    /// <summary>The body ends when the connection closes (HTTP/1.0 without a length).</summary>
    public bool CloseDelimited { get; private set; }

    public static ResponseHead Create(string status, IReadOnlyList<KeyValuePair<string, string>> appHeaders, string method, int versionMinor)
    {
        var code = ParseStatus(status);
        var headers = new List<KeyValuePair<string, string>>(appHeaders.Count);
        long? length = null;
        foreach (var (name, rawValue) in appHeaders)
        {
            if (!IsToken(name))
            {
                throw new InvalidResponseException($"invalid header name {Quote(name)}");
            }

            if (HasForbiddenChar(rawValue))
            {
                throw new InvalidResponseException($"invalid header value {Quote(rawValue)} for {name}");
            }

            var value = rawValue.Trim(' ', '\t');
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (value.Length == 0 || !value.All(char.IsAsciiDigit) || !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                {
                    throw new InvalidResponseException($"invalid Content-Length {Quote(value)}");
                }

                length = n;
            }
            else if (IsHopByHop(name))
            {
                continue;
            }

            headers.Add(new(name, value));
        }

        var head = new ResponseHead(status, code, headers, versionMinor) { ContentLength = length };
        head.NoBody = method == "HEAD" || code < 200 || code is 204 or 304;
        head.Chunked = length is null && versionMinor >= 1 && !head.NoBody;
        head.CloseDelimited = length is null && !head.Chunked && !head.NoBody;
        return head;
    }

    public void WriteTo(ref ResponseSink.SpanBuilder output, bool keepAlive, ReadOnlySpan<byte> dateLine)
    {
        output.Append(VersionMinor == 0 ? "HTTP/1.0 "u8 : "HTTP/1.1 "u8);
        AppendLatin1(ref output, Status);
        output.Append("\r\n"u8);
        output.Append(ServerLine);
        output.Append(dateLine);
        output.Append(keepAlive && !CloseDelimited ? "Connection: keep-alive\r\n"u8 : "Connection: close\r\n"u8);
        if (Chunked)
        {
            output.Append("Transfer-Encoding: chunked\r\n"u8);
        }

        foreach (var (name, value) in Headers)
        {
            AppendLatin1(ref output, name);
            output.Append(": "u8);
            AppendLatin1(ref output, value);
            output.Append("\r\n"u8);
        }

        output.Append("\r\n"u8);
    }

    private static void AppendLatin1(ref ResponseSink.SpanBuilder output, string text)
    {
        Span<byte> chunk = stackalloc byte[256];
        for (var i = 0; i < text.Length; i += chunk.Length)
        {
            var part = text.AsSpan(i, Math.Min(chunk.Length, text.Length - i));
            for (var j = 0; j < part.Length; j++)
            {
                chunk[j] = (byte)part[j];
            }

            output.Append(chunk[..part.Length]);
        }
    }

    private static int ParseStatus(string status)
    {
        if (status.Length < 3 || !char.IsAsciiDigit(status[0]) || !char.IsAsciiDigit(status[1]) || !char.IsAsciiDigit(status[2])
            || (status.Length > 3 && status[3] != ' ') || HasForbiddenChar(status) || status.Any(c => c < ' ' && c != '\t'))
        {
            throw new InvalidResponseException($"invalid status {Quote(status)}");
        }

        return (status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0');
    }

    // RFC 9110 token characters.
    private static bool IsToken(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c)))
            {
                return false;
            }
        }

        return true;
    }

    private static bool HasForbiddenChar(string value)
    {
        foreach (var c in value)
        {
            if (c is '\r' or '\n' or '\0' || c > '\u00ff')
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsHopByHop(string name) =>
        name.Equals("Connection", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Proxy-Authenticate", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Proxy-Authorization", StringComparison.OrdinalIgnoreCase)
        || name.Equals("TE", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Trailers", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase);

    private static string Quote(string s) => s.Length > 64 ? $"'{s[..64]}...'" : $"'{s}'";
}
