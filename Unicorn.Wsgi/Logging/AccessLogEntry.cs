namespace Unicorn.Wsgi.Logging;

/// <summary>
/// What a worker hands the access log for one finished request. Strings are the request's bytes decoded as
/// latin-1 (as WSGI does); the log writes them as UTF-8, as Gunicorn's Python handlers do. After
/// <see cref="AccessLog.Log"/> the entry belongs to the log (it is formatted later, on another thread):
/// don't reuse its lists.
/// </summary>
public sealed class AccessLogEntry
{
    public required string Method { get; init; }

    /// <summary>The request target as received (environ RAW_URI), used by <c>%(r)s</c>.</summary>
    public required string RawUri { get; init; }

    /// <summary>PATH_INFO (decoded), <c>%(U)s</c>.</summary>
    public required string Path { get; init; }

    /// <summary>QUERY_STRING, <c>%(q)s</c>.</summary>
    public string Query { get; init; } = "";

    /// <summary>SERVER_PROTOCOL, e.g. "HTTP/1.1".</summary>
    public required string Protocol { get; init; }

    /// <summary>REMOTE_ADDR; null logs "-".</summary>
    public string? RemoteAddress { get; init; }

    /// <summary>The status line the app gave, e.g. "200 OK"; <c>%(s)s</c> is its first word.</summary>
    public required string Status { get; init; }

    /// <summary>Bytes of body sent; null logs "-".</summary>
    public long? ResponseLength { get; init; }

    /// <summary>Request headers in arrival order, names as received (matched case-insensitively).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> RequestHeaders { get; init; } = [];

    /// <summary>Response headers the app gave.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ResponseHeaders { get; init; } = [];

    /// <summary>The environ, built when first asked for: <c>%({var}e)s</c> looks a name up in it case-insensitively
    /// (Gunicorn lowercases both sides), and a logger class's <c>access()</c> gets all of it. Called on the log's
    /// writer thread, after the request finished: it must read a snapshot, never live Python objects.</summary>
    public Func<IReadOnlyDictionary<string, string>>? Environ { get; init; }

    /// <summary>When the request started (any offset; lines use the local time zone).</summary>
    public DateTimeOffset StartTime { get; init; }

    public TimeSpan Duration { get; init; }

    public int Pid { get; init; } = Environment.ProcessId;

    /// <summary>
    /// The entry for one finished request, with environ's CGI keys for <c>%({var}e)s</c> and PATH_INFO
    /// decoded as Gunicorn does. <paramref name="status"/> is the status line the app gave ("200 OK"), or "" when none
    /// went out (the client left first, the app failed): logged as 500, as Gunicorn logs such a request, never as an
    /// empty field a log parser would take for a missing one. <paramref name="sent"/> is the body bytes written (null
    /// when unknown).
    /// </summary>
    public static AccessLogEntry FromRequest(Application.WsgiRequest request, string status, long? sent,
        IReadOnlyList<KeyValuePair<string, string>> responseHeaders, DateTimeOffset startTime, TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(request);
        Dictionary<string, string>? environ = null;
        return new AccessLogEntry
        {
            Method = request.Method,
            RawUri = request.RawUri,
            Path = RequestEnviron.PathInfo(request),
            Query = request.Query,
            Protocol = request.Protocol,
            RemoteAddress = RequestEnviron.RemoteAddress(request.RemoteEndPoint),
            Status = status.Length == 0 ? "500 Internal Server Error" : status,
            ResponseLength = sent,
            RequestHeaders = request.Headers,
            ResponseHeaders = responseHeaders,
            Environ = () => environ ??= RequestEnviron.Build(request),
            StartTime = startTime,
            Duration = duration,
        };
    }

    /// <summary>
    /// A request refused for its head (its body framing, a repeated singleton field) after the request line and
    /// fields were read: Gunicorn's <c>handle_error</c> logs it with an environ built by <c>default_environ</c>, which
    /// has no HTTP_* variables and no PATH_INFO, so <c>%(u)s</c>, <c>%(f)s</c> and <c>%(a)s</c> are "-" and
    /// <c>%(U)s</c> is "None" (Python's None), while <c>%({name}i)s</c> reads <see cref="RequestHeaders"/>.
    /// </summary>
    public bool Refused { get; init; }

    /// <summary>
    /// The entry for a request refused for its head (<see cref="Refused"/>), as Gunicorn's <c>handle_error</c> writes
    /// it: <paramref name="status"/> (e.g. "400 Bad Request") with no body bytes counted (Gunicorn logs 0 for its
    /// error page), REMOTE_ADDR the socket's peer, and an environ of only what <c>default_environ</c> sets.
    /// <paramref name="path"/> is the target's path as sent (the JSON format's "path" gets it decoded);
    /// <paramref name="fields"/> must be the entry's own (the log reads it later, on another thread).
    /// </summary>
    public static AccessLogEntry FromRefusedRequest(string method, string rawUri, string path, string query, string protocol,
        IReadOnlyList<KeyValuePair<string, string>> fields, System.Net.IPEndPoint? peer, string status, DateTimeOffset time)
    {
        var remote = RequestEnviron.RemoteAddress(peer);
        Dictionary<string, string>? environ = null;
        return new AccessLogEntry
        {
            Method = method,
            RawUri = rawUri,
            Path = Application.CgiPath.PercentDecode(path),
            Query = query,
            Protocol = protocol,
            RemoteAddress = remote,
            Status = status,
            ResponseLength = 0,
            RequestHeaders = fields,
            Environ = () => environ ??= new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
            {
                ["REQUEST_METHOD"] = method,
                ["QUERY_STRING"] = query,
                ["RAW_URI"] = rawUri,
                ["SERVER_PROTOCOL"] = protocol,
                ["REMOTE_ADDR"] = remote,
                ["REMOTE_PORT"] = (peer?.Port ?? -1).ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            StartTime = time,
            Duration = TimeSpan.Zero,
            Refused = true,
        };
    }

    /// <summary>When Gunicorn takes %(t)s: as it logs, at the end of the request.</summary>
    internal DateTimeOffset EndTime => StartTime + Duration;

    /// <summary>The status code, or 0 when the status line does not start with one.</summary>
    public int StatusCode
    {
        get
        {
            var span = Status.AsSpan().TrimStart();
            var end = span.IndexOfAny(' ', '\t');
            return int.TryParse(end >= 0 ? span[..end] : span, System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var code) ? code : 0;
        }
    }
}
