namespace Unicorn.Wsgi.Config;

// Typed views of the HTTP/2 settings (Workers/Http2* builds Kestrel's limits from these).
public sealed partial class Settings
{
    /// <summary><c>http_protocols</c>: "h1" and/or "h2", most preferred first.</summary>
    public IReadOnlyList<string> HttpProtocols => Get<IReadOnlyList<string>>("http_protocols");

    /// <summary>Whether TLS listeners offer HTTP/2 (ALPN "h2").</summary>
    public bool OffersHttp2 => HttpProtocols.Contains("h2");

    /// <summary>Whether HTTP/1.1 is served (ALPN "http/1.1", or no ALPN at all).</summary>
    public bool OffersHttp1 => HttpProtocols.Contains("h1");

    /// <summary><c>http2_cleartext = prior-knowledge | both</c>: h2c with prior knowledge for peers in forwarded_allow_ips.</summary>
    public bool Http2PriorKnowledge => Get<string>("http2_cleartext") is "prior-knowledge" or "both";

    /// <summary><c>http2_cleartext = upgrade | both</c>: h2c by HTTP/1.1 Upgrade for peers in forwarded_allow_ips.</summary>
    public bool Http2CleartextUpgrade => Get<string>("http2_cleartext") is "upgrade" or "both";

    /// <summary>Any h2c mode is on.</summary>
    public bool Http2Cleartext => Get<string>("http2_cleartext") != "off";

    public int Http2MaxConcurrentStreams => Get<int>("http2_max_concurrent_streams");
    public int Http2InitialWindowSize => Get<int>("http2_initial_window_size");
    public int Http2MaxFrameSize => Get<int>("http2_max_frame_size");

    /// <summary>0: no HTTP/2 limit (limit_request_fields and limit_request_field_size still apply).</summary>
    public int Http2MaxHeaderListSize => Get<int>("http2_max_header_list_size");
}
