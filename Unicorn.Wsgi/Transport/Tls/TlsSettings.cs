using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Transport.Tls;

/// <summary>Client certificates, as Python's <c>ssl.CERT_NONE</c>/<c>CERT_OPTIONAL</c>/<c>CERT_REQUIRED</c> (<c>cert_reqs</c> 0/1/2).</summary>
public enum ClientCertificateMode
{
    None = 0,
    Optional = 1,
    Required = 2,
}

/// <summary>
/// The TLS settings, checked and made absolute: from <c>certfile</c>, <c>keyfile</c>, <c>ca_certs</c>, <c>cert_reqs</c> and
/// <c>ciphers</c>, or from what an <c>ssl_context</c> hook's context asked for.
/// </summary>
internal sealed record TlsSettings(string CertFile, string KeyFile, IReadOnlyList<string> CaFiles, ClientCertificateMode CertReqs, string? Ciphers)
{
    /// <summary>The key's passphrase (only an <c>ssl_context</c> hook gives one).</summary>
    public string? Password { get; init; }

    /// <summary>CA certificates in PEM, besides <see cref="CaFiles"/>.</summary>
    public IReadOnlyList<string> CaPem { get; init; } = [];

    /// <summary>The TLS versions to allow ("TLSv1_2"...); null: the system's.</summary>
    public IReadOnlyList<string>? Versions { get; init; }

    /// <summary>The ALPN protocols to offer, of those the worker speaks; null: all of them.</summary>
    public IReadOnlyList<string>? Alpn { get; init; }

    /// <summary>Whether the settings ask for TLS (certfile or keyfile set), before any file is checked.</summary>
    public static bool IsRequested(Settings settings) =>
        settings.CertFile is not null || settings.KeyFile is not null;

    public static TlsSettings? From(Settings settings, string baseDirectory)
    {
        var certfile = settings.CertFile;
        var keyfile = settings.KeyFile;
        if (certfile is null && keyfile is null)
        {
            return null;
        }

        // Gunicorn calls ssl_context only with TLS on, so a config file may define it for servers without TLS.
        if (settings.CallsSslContextHook)
        {
            return FromHook(settings);
        }

        if (certfile is null)
        {
            throw new ConfigException("unicorn: keyfile is set but certfile is not; TLS needs --certfile");
        }

        var cert = Existing("certfile", certfile, baseDirectory);
        // Like Python's load_cert_chain: without a keyfile the key is read from the certfile.
        var key = keyfile is null ? cert : Existing("keyfile", keyfile, baseDirectory);
        string[] ca = settings.CaCerts is { } caFile ? [Existing("ca_certs", caFile, baseDirectory)] : [];
        var ciphers = settings.Ciphers is { Length: > 0 } c ? c : null;
        return new TlsSettings(cert, key, ca, Mode(settings.CertReqs), ciphers);
    }

    private static TlsSettings FromHook(Settings settings)
    {
        var hook = settings.SslContextDisplay;
        var context = settings.SslContextResult
            ?? throw new InvalidOperationException($"the ssl_context hook ({hook}) was not called before TLS was set up");
        if (context.Refused.Count > 0)
        {
            throw new ConfigException(
                $"unicorn: the ssl_context hook ({hook}) asks for what Unicorn's TLS (.NET SslStream) cannot do: {string.Join(", ", context.Refused)}");
        }

        return new TlsSettings(context.CertFile, context.KeyFile ?? context.CertFile, context.CaFiles, Mode(context.VerifyMode), context.Ciphers)
        {
            Password = context.Password,
            CaPem = context.CaPem,
            Versions = context.Versions,
            Alpn = context.Alpn,
        };
    }

    private static ClientCertificateMode Mode(int certReqs) => certReqs switch
    {
        0 => ClientCertificateMode.None,
        1 => ClientCertificateMode.Optional,
        _ => ClientCertificateMode.Required,
    };

    private static string Existing(string setting, string file, string baseDirectory)
    {
        var path = Path.GetFullPath(Path.Combine(baseDirectory, file));
        if (Directory.Exists(path))
        {
            throw new ConfigException($"unicorn: {setting} \"{file}\" is a directory, not a file");
        }

        if (!File.Exists(path))
        {
            throw new ConfigException($"unicorn: {setting} \"{file}\" does not exist");
        }

        return path;
    }
}
