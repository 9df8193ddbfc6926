namespace Unicorn.Wsgi.Config;

// The "HTTP/2" settings, in Gunicorn's order. HTTP/2 is Kestrel's (Workers/Http2*), whose limits are stricter
// than Gunicorn's validators in two places (a window below 65535, zero streams): those values are refused here.
public static partial class SettingsTable
{
    private const string Http2Section = "HTTP/2";

    private static IEnumerable<Setting> Http2Rows() =>
    [
        StringRow("http_protocols", Http2Section, ["--http-protocols"], "STRING", "h1",
            "Comma-separated protocols to offer, most preferred first: h1 (HTTP/1.1), h2 (HTTP/2 over TLS, chosen by ALPN; "
            + "h1 stays available on the same listener when listed). h3 is not implemented and refused.") with
        { GunicornValidator = "http_protocols", Type = SettingType.StringList, Validate = HttpProtocolsImplemented },
        StringRow("http2_cleartext", Http2Section, ["--http2-cleartext"], "STRING", "off",
            "HTTP/2 without TLS (h2c), only for peers in forwarded_allow_ips and with h2 in http_protocols: off; "
            + "prior-knowledge: a connection that opens with HTTP/2's preface gets HTTP/2; upgrade: an HTTP/1.1 request "
            + "without a body carrying Upgrade: h2c and HTTP2-Settings is answered 101 and then on stream 1 of HTTP/2 "
            + "(needs h1 too); both: either. Other peers and other bytes get HTTP/1.1.") with
        { Validate = Validators.Http2Cleartext },
        IntRow("http2_max_concurrent_streams", Http2Section, ["--http2-max-concurrent-streams"], 100,
            "Most concurrent HTTP/2 streams per connection (at least 1).") with { Validate = Http2Streams },
        IntRow("http2_initial_window_size", Http2Section, ["--http2-initial-window-size"], 65535,
            "Initial HTTP/2 flow-control window of each stream in bytes (65535 to 2147483647).") with { Validate = Http2Window },
        IntRow("http2_max_frame_size", Http2Section, ["--http2-max-frame-size"], 16384,
            "Largest HTTP/2 frame payload in bytes (16384 to 16777215).") with
        { GunicornValidator = "http2_frame_size", Validate = Validators.Http2FrameSize },
        IntRow("http2_max_header_list_size", Http2Section, ["--http2-max-header-list-size"], 65536,
            "Largest HTTP/2 header list in bytes after HPACK decoding (0: no limit beyond limit_request_*).") with
        { Validate = Validators.PositiveInt },
    ];

    // Gunicorn accepts h3 as a placeholder it never serves; Unicorn refuses it rather than accept and ignore it.
    private static object? HttpProtocolsImplemented(object? value, ResolveContext context)
    {
        var protocols = (List<string>)Validators.HttpProtocols(value, context)!;
        return protocols.Contains("h3")
            ? throw new SettingValueException("h3 (HTTP/3) is not implemented; use h1 and/or h2")
            : protocols;
    }

    private static object? Http2Streams(object? value, ResolveContext context) =>
        (int)Validators.PositiveInt(value, context)! is var n and >= 1
            ? n
            : throw new SettingValueException("http2_max_concurrent_streams must be at least 1, got 0");

    // RFC 9113 allows a smaller window, but Kestrel's HTTP/2 does not, and a tiny window only slows uploads.
    private static object? Http2Window(object? value, ResolveContext context)
    {
        var n = (int)Validators.PositiveInt(value, context)!;
        return n >= 65535 ? n : throw new SettingValueException($"http2_initial_window_size must be between 65535 and 2147483647, got {n}");
    }
}
