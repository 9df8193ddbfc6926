namespace Unicorn.Wsgi.Config;

// The "HTTP/2" settings, in Gunicorn's order.
public static partial class SettingsTable
{
    private const string Http2Section = "HTTP/2";

    private static IEnumerable<Setting> Http2Rows() =>
    [
        StringRow("http_protocols", Http2Section, ["--http-protocols"], "STRING", "h1",
            "Comma-separated protocols to offer, most preferred first: h1, h2 (h3 reserved).") with
        { Type = SettingType.StringList, Validate = Validators.HttpProtocols, Supported = false, UnsupportedHint = "only h1 (HTTP/1.1) is implemented" },
        StringRow("http2_cleartext", Http2Section, ["--http2-cleartext"], "STRING", "off",
            "HTTP/2 without TLS: off, prior-knowledge, upgrade or both.") with
        { Validate = Validators.Http2Cleartext, Supported = false },
        IntRow("http2_max_concurrent_streams", Http2Section, ["--http2-max-concurrent-streams"], 100,
            "Most concurrent HTTP/2 streams per connection.") with { Supported = false },
        IntRow("http2_initial_window_size", Http2Section, ["--http2-initial-window-size"], 65535,
            "Initial HTTP/2 flow-control window in bytes.") with { Supported = false },
        IntRow("http2_max_frame_size", Http2Section, ["--http2-max-frame-size"], 16384,
            "Largest HTTP/2 frame payload in bytes (16384 to 16777215).") with
        { Validate = Validators.Http2FrameSize, Supported = false },
        IntRow("http2_max_header_list_size", Http2Section, ["--http2-max-header-list-size"], 65536,
            "Largest HTTP/2 header list in bytes.") with { Supported = false },
    ];
}
