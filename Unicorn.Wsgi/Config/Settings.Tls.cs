namespace Unicorn.Wsgi.Config;

// Typed views of the TLS settings (Transport/Tls builds its options from these).
public sealed partial class Settings
{
    public string? KeyFile => Get<string?>("keyfile");
    public string? CaCerts => Get<string?>("ca_certs");

    /// <summary><c>cert_reqs</c>: 0 (CERT_NONE), 1 (CERT_OPTIONAL) or 2 (CERT_REQUIRED).</summary>
    public int CertReqs => Get<int>("cert_reqs");
    public string? Ciphers => Get<string?>("ciphers");

    /// <summary>The <c>ssl_context</c> hook, which the master calls once when TLS is on (<see cref="SslContextResult"/>).</summary>
    public HookReference SslContext => Get<HookReference>("ssl_context");

    /// <summary>How a message names the <c>ssl_context</c> hook: its name and the config file that defines it.</summary>
    public string SslContextDisplay =>
        SslContext.Origin == HookOrigin.ConfigFile && ConfigFile is { } file ? $"{SslContext.Display} in {file}" : SslContext.Display;

    /// <summary>Whether TLS is on and the <c>ssl_context</c> hook is the config's own, so the master must call it.</summary>
    public bool CallsSslContextHook => (CertFile is not null || KeyFile is not null) && !SslContext.IsDefault;

    /// <summary>What the <c>ssl_context</c> hook's context asked for, once the master has called it; workers get it
    /// with the settings and do not call the hook.</summary>
    public SslContextHookResult? SslContextResult { get; set; }
}
