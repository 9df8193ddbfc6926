using System.Collections;
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

    /// <summary>
    /// Reads the parser settings by their Gunicorn names. A setting the table does not hold yet keeps its
    /// default; values may be typed or still strings (as from the command line).
    /// </summary>
    public static HttpParserOptions FromSettings(Settings s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var d = Default;
        return new HttpParserOptions
        {
            LimitRequestLine = Int(s, "limit_request_line", d.LimitRequestLine),
            LimitRequestFields = Int(s, "limit_request_fields", d.LimitRequestFields),
            LimitRequestFieldSize = Int(s, "limit_request_field_size", d.LimitRequestFieldSize),
            PermitObsoleteFolding = Bool(s, "permit_obsolete_folding"),
            StripHeaderSpaces = Bool(s, "strip_header_spaces"),
            PermitUnconventionalHttpMethod = Bool(s, "permit_unconventional_http_method"),
            PermitUnconventionalHttpVersion = Bool(s, "permit_unconventional_http_version"),
            CasefoldHttpMethod = Bool(s, "casefold_http_method"),
            HeaderMap = Value(s, "header_map") is { } hm ? ParseHeaderMap(hm) : d.HeaderMap,
            ProxyProtocol = Value(s, "proxy_protocol") is { } pp ? ParseProxyProtocol(pp) : d.ProxyProtocol,
            ProxyAllowIps = Value(s, "proxy_allow_ips") is { } pa ? IpAllowList.Parse(List(pa)) : d.ProxyAllowIps,
            ForwardedAllowIps = Value(s, "forwarded_allow_ips") is { } fa ? IpAllowList.Parse(List(fa)) : d.ForwardedAllowIps,
            SecureSchemeHeaders = Value(s, "secure_scheme_headers") is { } ss ? Dict(ss) : d.SecureSchemeHeaders,
            ForwarderHeaders = Value(s, "forwarder_headers") is { } fh ? [.. List(fh).Select(h => h.ToUpperInvariant())] : d.ForwarderHeaders,
        };
    }

    public static HeaderMapPolicy ParseHeaderMap(object value) => value switch
    {
        HeaderMapPolicy p => p,
        string str => str.Trim().ToLowerInvariant() switch
        {
            "drop" => HeaderMapPolicy.Drop,
            "refuse" => HeaderMapPolicy.Refuse,
            "dangerous" => HeaderMapPolicy.Dangerous,
            _ => throw new FormatException($"header_map must be one of drop, refuse, dangerous, not '{str}'"),
        },
        _ => throw new FormatException($"header_map: unexpected value {value}"),
    };

    /// <summary>Gunicorn's validate_proxy_protocol: booleans and off/false/0/none/v1/v2/auto/true/1.</summary>
    public static ProxyProtocolMode ParseProxyProtocol(object? value) => value switch
    {
        null => ProxyProtocolMode.Off,
        ProxyProtocolMode m => m,
        bool b => b ? ProxyProtocolMode.Auto : ProxyProtocolMode.Off,
        string str => str.Trim().ToLowerInvariant() switch
        {
            "false" or "off" or "0" or "none" => ProxyProtocolMode.Off,
            "true" or "auto" or "1" => ProxyProtocolMode.Auto,
            "v1" => ProxyProtocolMode.V1,
            "v2" => ProxyProtocolMode.V2,
            _ => throw new FormatException("proxy_protocol must be: off, v1, v2, or auto"),
        },
        _ => throw new FormatException($"proxy_protocol: unexpected value {value}"),
    };

    private static object? Value(Settings s, string name) => s.Contains(name) ? s.Get<object?>(name) : null;

    private static int Int(Settings s, string name, int fallback) => Value(s, name) switch
    {
        null => fallback,
        int i => i,
        long l => checked((int)l),
        string str => int.Parse(str, System.Globalization.CultureInfo.InvariantCulture),
        var v => Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture),
    };

    private static bool Bool(Settings s, string name) => Value(s, name) switch
    {
        null => false,
        bool b => b,
        string str => str.Trim().ToLowerInvariant() is "true" or "1" or "yes" or "on",
        var v => Convert.ToBoolean(v, System.Globalization.CultureInfo.InvariantCulture),
    };

    private static IEnumerable<string> List(object value) => value switch
    {
        string str => str.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
        IEnumerable<string> list => list,
        IEnumerable e => e.Cast<object>().Select(o => Convert.ToString(o, System.Globalization.CultureInfo.InvariantCulture) ?? ""),
        _ => throw new FormatException($"expected a list, not {value}"),
    };

    private static Dictionary<string, string> Dict(object value)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        switch (value)
        {
            case IEnumerable<KeyValuePair<string, string>> pairs:
                foreach (var (k, v) in pairs)
                {
                    result[k] = v;
                }
                break;
            case IDictionary dict:
                foreach (DictionaryEntry e in dict)
                {
                    result[Convert.ToString(e.Key, System.Globalization.CultureInfo.InvariantCulture)!] =
                        Convert.ToString(e.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
                }
                break;
            default:
                throw new FormatException($"secure_scheme_headers: expected a dictionary, not {value}");
        }
        return result;
    }
}
