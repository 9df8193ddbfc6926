using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Http;

/// <summary>
/// Everything Gunicorn's request parser reads from its settings, with Gunicorn's defaults. Limits are
/// stored as configured; the <c>Effective*</c> properties apply Gunicorn's rules for 0, negative and
/// over-large values.
/// </summary>
public sealed class HttpParserOptions
{
    /// <summary>Gunicorn's ceiling for <c>limit_request_line</c> (larger values are lowered to it).</summary>
    public const int MaxRequestLine = 8190;

    /// <summary>Gunicorn's ceiling for <c>limit_request_fields</c>.</summary>
    public const int MaxHeaders = 32768;

    /// <summary>Used when <c>limit_request_field_size</c> is 0 or negative, as in Gunicorn.</summary>
    public const int DefaultMaxHeaderFieldSize = 8190;

    /// <summary>
    /// What "unlimited" (<c>limit_request_line = 0</c>) means here: 1 MiB, the bound Gunicorn's own fast
    /// parser uses, so a request line can never grow without end.
    /// </summary>
    public const int UnlimitedRequestLine = 1024 * 1024;

    // Declared before Default: static initialisers run in order.
    public static IReadOnlyDictionary<string, string> DefaultSecureSchemeHeaders { get; } =
        new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["X-FORWARDED-PROTOCOL"] = "ssl",
            ["X-FORWARDED-PROTO"] = "https",
            ["X-FORWARDED-SSL"] = "on",
        };

    public static HttpParserOptions Default { get; } = new();

    /// <summary><c>limit_request_line</c>: longest request line (without CRLF); 0 = unlimited.</summary>
    public int LimitRequestLine { get; init; } = 4094;

    /// <summary><c>limit_request_fields</c>: most header fields; 0 or above 32768 means 32768.</summary>
    public int LimitRequestFields { get; init; } = 100;

    /// <summary><c>limit_request_field_size</c>: longest field line (with CRLF); 0 or less means 8190.</summary>
    public int LimitRequestFieldSize { get; init; } = 8190;

    public bool PermitObsoleteFolding { get; init; }
    public bool StripHeaderSpaces { get; init; }
    public bool PermitUnconventionalHttpMethod { get; init; }
    public bool PermitUnconventionalHttpVersion { get; init; }
    public bool CasefoldHttpMethod { get; init; }

    public HeaderMapPolicy HeaderMap { get; init; } = HeaderMapPolicy.Drop;

    public ProxyProtocolMode ProxyProtocol { get; init; }

    /// <summary><c>proxy_allow_ips</c>: peers allowed to send a PROXY protocol header.</summary>
    public IpAllowList ProxyAllowIps { get; init; } = IpAllowList.Loopback;

    /// <summary><c>forwarded_allow_ips</c>: peers whose scheme and forwarder headers are believed.</summary>
    public IpAllowList ForwardedAllowIps { get; init; } = IpAllowList.Loopback;

    /// <summary><c>secure_scheme_headers</c>: upper-case header name → the exact value that means https.</summary>
    public IReadOnlyDictionary<string, string> SecureSchemeHeaders { get; init; } = DefaultSecureSchemeHeaders;

    /// <summary><c>forwarder_headers</c>: upper-case names with '_' a trusted proxy may set ("*" for any).</summary>
    public IReadOnlyList<string> ForwarderHeaders { get; init; } = ["SCRIPT_NAME", "PATH_INFO"];

    private HttpParserTables? _tables;

    /// <summary>
    /// The header names and values above as the bytes the parser compares, made once per options (they are
    /// immutable) rather than once per connection.
    /// </summary>
    internal HttpParserTables Tables => _tables ??= new HttpParserTables(this);

    public int EffectiveLimitRequestLine =>
        LimitRequestLine < 0 || LimitRequestLine >= MaxRequestLine ? MaxRequestLine
        : LimitRequestLine == 0 ? UnlimitedRequestLine
        : LimitRequestLine;

    public int EffectiveLimitRequestFields =>
        LimitRequestFields <= 0 || LimitRequestFields > MaxHeaders ? MaxHeaders : LimitRequestFields;

    public int EffectiveLimitRequestFieldSize =>
        LimitRequestFieldSize <= 0 ? DefaultMaxHeaderFieldSize : LimitRequestFieldSize;

    /// <summary>Most bytes a header section may take before its end is seen (Gunicorn's max_buffer_headers).</summary>
    public long MaxHeaderSectionBytes => (long)EffectiveLimitRequestFields * (EffectiveLimitRequestFieldSize + 2) + 4;

    /// <summary>The parser's options from the resolved settings, which hold typed, validated values.</summary>
    public static HttpParserOptions FromSettings(Settings s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return new HttpParserOptions
        {
            LimitRequestLine = s.LimitRequestLine,
            LimitRequestFields = s.LimitRequestFields,
            LimitRequestFieldSize = s.LimitRequestFieldSize,
            PermitObsoleteFolding = s.PermitObsoleteFolding,
            StripHeaderSpaces = s.StripHeaderSpaces,
            PermitUnconventionalHttpMethod = s.PermitUnconventionalHttpMethod,
            PermitUnconventionalHttpVersion = s.PermitUnconventionalHttpVersion,
            CasefoldHttpMethod = s.CasefoldHttpMethod,
            HeaderMap = s.HeaderMap,
            ProxyProtocol = s.ProxyProtocol,
            ProxyAllowIps = s.ProxyAllowIps,
            ForwardedAllowIps = s.ForwardedAllowIps,
            SecureSchemeHeaders = IgnoringCase(s.SecureSchemeHeaders),
            ForwarderHeaders = [.. s.ForwarderHeaders.Select(h => h.ToUpperInvariant())],
        };
    }

    // Header names compare case-insensitively; of two names differing only in case, the later wins.
    private static Dictionary<string, string> IgnoringCase(IReadOnlyDictionary<string, string> headers)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in headers)
        {
            result[name] = value;
        }

        return result;
    }
}
