namespace Unicorn.Wsgi.Config;

// The "SSL" settings, in Gunicorn's order.
public static partial class SettingsTable
{
    private const string SslSection = "SSL";

    private static IEnumerable<Setting> SslRows() =>
    [
        StringRow("keyfile", SslSection, ["--keyfile"], "FILE", null, "The TLS private key file."),
        StringRow("certfile", SslSection, ["--certfile"], "FILE", null, "The TLS certificate file; setting it (or keyfile) turns TLS on."),
        new Setting
        {
            Name = "ssl_version",
            GunicornValidator = "ssl_version",
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
