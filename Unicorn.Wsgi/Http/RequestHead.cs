namespace Unicorn.Wsgi.Http;

/// <summary>
/// One parsed request head. Reused per connection: <see cref="Http1RequestParser.TryParseHead"/> resets it
/// and fills it. Strings are latin-1 decodings of the wire bytes (one char per byte).
/// </summary>
public sealed class RequestHead
{
    /// <summary>The method as sent (upper-cased when <c>casefold_http_method</c> is on).</summary>
    public string Method { get; set; } = "";

    /// <summary>The request-target exactly as sent (RAW_URI).</summary>
    public string RawTarget { get; set; } = "";

    /// <summary>
    /// The path as Gunicorn splits the target (urllib's urlsplit, except that origin-form keeps leading
    /// "//"), still percent-encoded; "" when the target has none.
    /// </summary>
    public string Path { get; set; } = "";

    /// <summary>The query without '?', or "".</summary>
    public string Query { get; set; } = "";

    /// <summary>The fragment without '#', or "".</summary>
    public string Fragment { get; set; } = "";

    /// <summary>Absolute-form only: the scheme, lower-cased ("http", "https").</summary>
    public string? Scheme { get; set; }

    /// <summary>Absolute- and authority-form: the host without userinfo or port; IPv6 keeps its brackets.</summary>
    public string? Host { get; set; }

    /// <summary>Absolute- and authority-form: the port when the target names one.</summary>
    public int? Port { get; set; }

    public int VersionMajor { get; set; }

    public int VersionMinor { get; set; }

    /// <summary>"HTTP/1.1", "HTTP/1.0" or "HTTP/2" (SERVER_PROTOCOL), without allocating for the usual three.</summary>
    public string Protocol => (VersionMajor, VersionMinor) switch
    {
        (1, 1) => "HTTP/1.1",
        (1, 0) => "HTTP/1.0",
        (2, 0) => "HTTP/2",
        _ => $"HTTP/{VersionMajor}.{VersionMinor}",
    };

    /// <summary>
    /// Header fields in arrival order: names as sent, values with surrounding SP/HTAB removed (folded lines
    /// joined with one space). Fields refused by <c>header_map = drop</c> are not here.
    /// </summary>
    public List<KeyValuePair<string, string>> Headers { get; } = new(16);

    /// <summary>The Content-Length; null when the request has none (then the body is empty unless chunked).</summary>
    public long? ContentLength { get; set; }

    /// <summary>The body is chunked: decode it with a <see cref="ChunkedBodyDecoder"/>.</summary>
    public bool IsChunked { get; set; }

    /// <summary>The connection may serve another request after this one (Gunicorn's should_close, negated).</summary>
    public bool KeepAlive { get; set; }

    /// <summary>An HTTP/1.1 request asked for "100 Continue" before sending its body.</summary>
    public bool ExpectContinue { get; set; }

    /// <summary>
    /// "https" or "http" when a trusted peer sent one of <c>secure_scheme_headers</c>; null when none
    /// applied (then the transport decides).
    /// </summary>
    public string? ForwardedScheme { get; set; }

    /// <summary>
    /// The value of a <c>SCRIPT_NAME</c> header the field policy kept (a trusted peer's forwarder header, or
    /// any peer's under header_map = dangerous); the last one wins, as in Gunicorn. Null when none was sent.
    /// </summary>
    public string? ScriptName { get; set; }

    /// <summary>The request has a body to read (Content-Length above zero, or chunked).</summary>
    public bool HasBody => IsChunked || ContentLength > 0;

    /// <summary>Looks a field up by name, case-insensitively; the first occurrence wins.</summary>
    public string? GetHeader(string name)
    {
        foreach (var (k, v) in Headers)
        {
            if (string.Equals(k, name, StringComparison.OrdinalIgnoreCase))
            {
                return v;
            }
        }
        return null;
    }

    public void Reset()
    {
        Method = RawTarget = Path = Query = Fragment = "";
        Scheme = Host = null;
        Port = null;
        VersionMajor = VersionMinor = 0;
        Headers.Clear();
        ContentLength = null;
        IsChunked = false;
        KeepAlive = false;
        ExpectContinue = false;
        ForwardedScheme = null;
        ScriptName = null;
    }
}
