namespace Unicorn.Wsgi.Config;

// Typed views of the TLS settings (Transport/Tls builds its options from these).
public sealed partial class Settings
{
    public string? KeyFile => Get<string?>("keyfile");
    public string? CaCerts => Get<string?>("ca_certs");

    /// <summary><c>cert_reqs</c>: 0 (CERT_NONE), 1 (CERT_OPTIONAL) or 2 (CERT_REQUIRED).</summary>
    public int CertReqs => Get<int>("cert_reqs");
    public string? Ciphers => Get<string?>("ciphers");

    /// <summary>The <c>ssl_context</c> hook, which Unicorn refuses when it is defined and TLS is on.</summary>
    public HookReference SslContext => Get<HookReference>("ssl_context");
}
