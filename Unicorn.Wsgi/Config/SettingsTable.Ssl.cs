namespace Unicorn.Wsgi.Config;

public static partial class SettingsTable
{
    private const string SslSection = "SSL";

    private static IEnumerable<Setting> SslRows() =>
    [
        new Setting
        {
            Name = "proxy_protocol",
            Section = MechanicsSection,
            Type = SettingType.String,
            Flags = ["--proxy-protocol"],
            Meta = "MODE",
            Action = CliAction.OptionalValue,
            Const = "auto",
            Default = _ => "off",
            Validate = Validators.ProxyProtocol,
            DomainValue = true,
            Doc = "Accept a PROXY protocol header (from HAProxy, stunnel...) before each connection's first request: off, v1, v2 or auto; the bare flag means auto.",
        },
        new Setting
        {
            Name = "proxy_allow_ips",
            Section = MechanicsSection,
            Type = SettingType.StringList,
            Flags = ["--proxy-allow-from"],
            Default = _ => "127.0.0.1,::1",
            Validate = Validators.AddressList,
            DomainValue = true,
            Doc = "Comma-separated addresses or CIDR networks allowed to send PROXY headers; '*' allows any. UNIX socket peers are always allowed.",
        },
        StringRow("protocol", MechanicsSection, ["--protocol"], "STRING", "http",
            "The protocol spoken on the listeners: http, or uwsgi behind nginx's uwsgi_pass.") with
        { Validate = Validators.OneOf("http", "http", "uwsgi"), Supported = false, UnsupportedHint = "only http is implemented" },
        new Setting
        {
            Name = "uwsgi_allow_ips",
            Section = MechanicsSection,
            Type = SettingType.StringList,
            Flags = ["--uwsgi-allow-from"],
            Default = _ => "127.0.0.1,::1",
            Validate = Validators.AddressList,
            DomainValue = true,
            Doc = "Comma-separated addresses or networks allowed to speak the uwsgi protocol; '*' allows any.",
            Supported = false,
        },
        StringRow("keyfile", SslSection, ["--keyfile"], "FILE", null, "The TLS private key file."),
        StringRow("certfile", SslSection, ["--certfile"], "FILE", null, "The TLS certificate file; setting it (or keyfile) turns TLS on."),
        new Setting
        {
            Name = "ssl_version",
            Section = SslSection,
            Type = SettingType.Int,
            Flags = ["--ssl-version"],
            Default = _ => 2,
            Validate = Validators.SslVersion,
            Doc = "Deprecated and ignored, as in Gunicorn: the TLS versions come from the ssl_context hook or the system defaults.",
        },
        new Setting
        {
            Name = "cert_reqs",
            Section = SslSection,
            Type = SettingType.Int,
            Flags = ["--cert-reqs"],
            Default = _ => 0,
            Validate = Validators.CertReqs,
            Doc = "Client certificates: 0 not asked for, 1 optional, 2 required (ssl.CERT_*).",
        },
        StringRow("ca_certs", SslSection, ["--ca-certs"], "FILE", null, "The CA certificates that client certificates are checked against."),
        FlagRow("suppress_ragged_eofs", SslSection, "--suppress-ragged-eofs",
            "Treat a TLS connection closed without close_notify as a normal end of stream.", value: true),
        FlagRow("do_handshake_on_connect", SslSection, "--do-handshake-on-connect",
            "Complete the TLS handshake as soon as a connection is accepted rather than on first read."),
        StringRow("ciphers", SslSection, ["--ciphers"], null, null,
            "The OpenSSL cipher list for TLS 1.2 and older (default: the system's)."),
    ];
}
