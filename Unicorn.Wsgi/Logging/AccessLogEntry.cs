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
    /// decoded as Gunicorn does. <paramref name="status"/> is the status line the app gave ("200 OK"),
    /// <paramref name="sent"/> the body bytes written (null when unknown).
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
            Status = status,
            ResponseLength = sent,
            RequestHeaders = request.Headers,
            ResponseHeaders = responseHeaders,
            Environ = () => environ ??= RequestEnviron.Build(request),
            StartTime = startTime,
            Duration = duration,
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
