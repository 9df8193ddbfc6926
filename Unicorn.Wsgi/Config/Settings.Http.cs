namespace Unicorn.Wsgi.Config;

// Typed views of the settings the HTTP parser reads (Http/HttpParserOptions builds its options from these).
public sealed partial class Settings
{
    public bool PermitObsoleteFolding => Get<bool>("permit_obsolete_folding");
    public bool StripHeaderSpaces => Get<bool>("strip_header_spaces");
    public bool PermitUnconventionalHttpMethod => Get<bool>("permit_unconventional_http_method");
    public bool PermitUnconventionalHttpVersion => Get<bool>("permit_unconventional_http_version");
    public bool CasefoldHttpMethod => Get<bool>("casefold_http_method");

    /// <summary><c>header_map</c>; unset (None in a config file) means drop, Gunicorn's default.</summary>
    public HeaderMapPolicy HeaderMap => Get<HeaderMapPolicy?>("header_map") ?? HeaderMapPolicy.Drop;

    public ProxyProtocolMode ProxyProtocol => Get<ProxyProtocolMode>("proxy_protocol");
    public IpAllowList ProxyAllowIps => Get<IpAllowList>("proxy_allow_ips");
    public IpAllowList ForwardedAllowIps => Get<IpAllowList>("forwarded_allow_ips");

    /// <summary><c>secure_scheme_headers</c>: header name to the value that means https, values as text.</summary>
    public IReadOnlyDictionary<string, string> SecureSchemeHeaders =>
        Get<IReadOnlyDictionary<string, object?>>("secure_scheme_headers")
            .ToDictionary(p => p.Key, p => Convert.ToString(p.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "", StringComparer.Ordinal);

    /// <summary><c>forwarder_headers</c>: environ keys a trusted proxy may set.</summary>
    public IReadOnlyList<string> ForwarderHeaders => Get<IReadOnlyList<string>>("forwarder_headers");
}
