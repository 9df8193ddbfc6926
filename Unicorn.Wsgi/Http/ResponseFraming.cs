using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Http;

/// <summary>
/// How one response goes on the wire, decided from the app's status and headers and the request, as
/// Gunicorn's Response does (gunicorn/http/wsgi.py), plus checks Gunicorn leaves out. Built by
/// <see cref="Create"/>, which validates everything the app gave and throws
/// <see cref="InvalidResponseException"/> (a 500, nothing sent) when something is not valid HTTP. Then it
/// tracks the body: <see cref="Admit"/> says how much of each write may go out.
/// </summary>
public sealed class ResponseFraming
{
    private static readonly string[] HopByHop =
        ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers", "transfer-encoding", "upgrade", "server", "date"];

    private ResponseFraming(string status, int statusCode, List<KeyValuePair<string, string>> headers)
    {
        Status = status;
        StatusCode = statusCode;
        Headers = headers;
    }

    /// <summary>The status line's text after the version, as the app gave it ("200 OK").</summary>
    public string Status { get; }

    public int StatusCode { get; }

    /// <summary>The app's headers that will be sent: validated, trimmed, hop-by-hop ones removed.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The app's Content-Length (the body is cut to it), or null.</summary>
    public long? ContentLength { get; private set; }

    /// <summary>The body is sent with chunked transfer coding (HTTP/1.1, no Content-Length, a body allowed).</summary>
    public bool Chunked { get; private set; }

    /// <summary>No body may be sent: HEAD, 1xx, 204, 304. Body bytes from the app are dropped.</summary>
    public bool OmitsBody { get; private set; }

    /// <summary>The app asked for a protocol switch (Connection: upgrade); Connection says "upgrade".</summary>
    public bool Upgrade { get; private set; }

    /// <summary>The connection stays open after this response (Gunicorn's Response.should_close, negated).</summary>
    public bool KeepAlive { get; private set; }

    /// <summary>
    /// Body bytes the app has given so far, cut to its Content-Length: what went out, or, for a response that
    /// carries no body (HEAD, 204, 304), what would have. Gunicorn's resp.sent, logged as %(b)s/%(B)s.
    /// </summary>
    public long BytesSent { get; private set; }

    // The app's Content-Length as given, which still caps BytesSent where the header is dropped (1xx, 204).
    private long? _declaredLength;

    /// <summary>
    /// False when the app sent fewer bytes than its Content-Length: the client would wait for the rest,
    /// so the connection must be closed after the response.
    /// </summary>
    public bool EndsCleanly => OmitsBody || ContentLength is not { } length || BytesSent >= length;

    /// <summary>The value of the Connection header this response carries.</summary>
    public string ConnectionValue => Upgrade ? "upgrade" : KeepAlive ? "keep-alive" : "close";

    /// <summary>
    /// Validates the app's status and headers and decides the framing for a response to
    /// <paramref name="request"/>. <paramref name="forceClose"/> is for the server's own reasons to close
    /// (shutting down, max_requests reached).
    /// </summary>
    /// <exception cref="InvalidResponseException">the status or a header is not valid HTTP.</exception>
    public static ResponseFraming Create(string status, IReadOnlyList<KeyValuePair<string, string>> headers, RequestHead request, bool forceClose = false)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(request);
        var code = ParseStatus(status);
        var kept = new List<KeyValuePair<string, string>>(headers.Count);
        var framing = new ResponseFraming(status, code, kept);
        foreach (var (name, rawValue) in headers)
        {
            if (name is null || !HttpChars.IsToken(name))
            {
                throw new InvalidResponseException($"invalid header name {HttpRejection.Repr(name ?? "None")}");
            }
            if (rawValue is null || !IsFieldValue(rawValue))
            {
                throw new InvalidResponseException($"invalid value for header {name}: {HttpRejection.Repr(rawValue ?? "None")}");
            }
            var value = rawValue.Trim(' ', '\t');
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                var length = ParseContentLength(name, value);
                if (framing.ContentLength is { } previous && previous != length)
                {
                    throw new InvalidResponseException($"conflicting Content-Length headers: {previous} and {length}");
                }
                if (framing.ContentLength is not null)
                {
                    continue;
                }
                framing.ContentLength = length;
            }
            else if (IsHopByHop(name))
            {
                // The server owns connection management, Server and Date; websocket upgrades pass through.
                if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && value.Equals("upgrade", StringComparison.OrdinalIgnoreCase))
                {
                    framing.Upgrade = true;
                }
                else if (name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase) && value.Equals("websocket", StringComparison.OrdinalIgnoreCase))
                {
                    kept.Add(new(name, value));
                }
                continue;
            }
            kept.Add(new(name, value));
        }

        framing._declaredLength = framing.ContentLength;
        framing.OmitsBody = request.Method == "HEAD" || code is 204 or 304 || code < 200;
        if (framing.OmitsBody && (code == 204 || code < 200))
        {
            // RFC 9110 §8.6: no Content-Length on 1xx or 204.
            kept.RemoveAll(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase));
            framing.ContentLength = null;
        }
        var http11 = request.VersionMajor > 1 || (request.VersionMajor == 1 && request.VersionMinor >= 1);
        framing.Chunked = framing.ContentLength is null && http11 && !framing.OmitsBody;
        framing.KeepAlive = !forceClose && request.KeepAlive
            && (framing.ContentLength is not null || framing.Chunked || framing.OmitsBody);
        return framing;
    }

    /// <summary>
    /// For an ASGI app (<see cref="Application.IResponseSink.SetAsgiResponse"/>): a <c>close</c> token in the Connection
    /// header it gave (dropped from <see cref="Headers"/> as every hop-by-hop header) ends the connection after this
    /// response, and the response says <c>Connection: close</c>.
    /// </summary>
    public void CloseIfAsked(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        foreach (var (name, value) in headers)
        {
            if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase)
                && value.Split(',').Any(token => token.Trim(' ', '\t').Equals("close", StringComparison.OrdinalIgnoreCase)))
            {
                KeepAlive = false;
            }
        }
    }

    /// <summary>
    /// Records a body write of <paramref name="count"/> bytes and returns how many of them may be sent:
    /// none when the response has no body, never more than the Content-Length. Bytes of a response
    /// without a body are still counted (as Gunicorn, which sends them, counts them).
    /// </summary>
    public int Admit(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return (int)Admit((long)count);
    }

    /// <summary>As <see cref="Admit(int)"/>, for a file region (sendfile).</summary>
    public long Admit(long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (_declaredLength is { } length)
        {
            count = Math.Min(count, Math.Max(0, length - BytesSent));
        }
        BytesSent += count;
        return OmitsBody ? 0 : count;
    }

    /// <summary>
    /// Takes back <paramref name="count"/> of the bytes <see cref="Admit(long)"/> counted that never went out (a
    /// sendfile the client left halfway), so the access log's byte count is what was sent.
    /// </summary>
    public void Unsent(long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        BytesSent -= Math.Min(count, BytesSent);
    }

    // "NNN reason": three digits, the first 1-9, a space, then text (PEP 3333's status).
    private static int ParseStatus(string status)
    {
        if (status.Length < 4 || status[3] != ' ' || !char.IsAsciiDigit(status[0]) || status[0] == '0'
            || !char.IsAsciiDigit(status[1]) || !char.IsAsciiDigit(status[2]) || !IsFieldValue(status.AsSpan(4)))
        {
            throw new InvalidResponseException($"invalid status {HttpRejection.Repr(status)}: expected \"NNN Reason\"");
        }
        return (status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0');
    }

    private static long ParseContentLength(string name, string value)
    {
        if (value.Length is 0 or > 18 || value.AsSpan().ContainsAnyExceptInRange('0', '9'))
        {
            throw new InvalidResponseException($"invalid value for header {name}: {HttpRejection.Repr(value)}");
        }
        return long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Gunicorn's HEADER_VALUE_RE: SP, HTAB, visible ASCII and obs-text; never CR, LF, NUL or other controls.</summary>
    internal static bool IsFieldValue(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (c != '\t' && (c < ' ' || c == '\x7f' || c > '\xff'))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsHopByHop(string name)
    {
        foreach (var h in HopByHop)
        {
            if (name.Equals(h, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }
}
