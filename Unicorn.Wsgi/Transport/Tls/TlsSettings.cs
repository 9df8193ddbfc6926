using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Transport.Tls;

/// <summary>Client certificates, as Python's <c>ssl.CERT_NONE</c>/<c>CERT_OPTIONAL</c>/<c>CERT_REQUIRED</c> (<c>cert_reqs</c> 0/1/2).</summary>
public enum ClientCertificateMode
{
    None = 0,
    Optional = 1,
    Required = 2,
}

/// <summary>The TLS settings, checked and made absolute.</summary>
internal sealed record TlsSettings(string CertFile, string KeyFile, string? CaCerts, ClientCertificateMode CertReqs, string? Ciphers)
{
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
        if (settings.SslContext is { IsDefault: false } hook)
        {
            throw new ConfigException(
                $"unicorn: the ssl_context hook ({hook.Display}) cannot be honoured: Unicorn's TLS is .NET SslStream, which a Python ssl.SSLContext cannot drive; use --certfile, --keyfile, --ca-certs, --cert-reqs and --ciphers");
        }

        if (certfile is null)
        {
            throw new ConfigException("unicorn: keyfile is set but certfile is not; TLS needs --certfile");
        }

        var cert = Existing("certfile", certfile, baseDirectory);
        // Like Python's load_cert_chain: without a keyfile the key is read from the certfile.
        var key = keyfile is null ? cert : Existing("keyfile", keyfile, baseDirectory);
        var ca = settings.CaCerts is { } caFile ? Existing("ca_certs", caFile, baseDirectory) : null;
        var reqs = settings.CertReqs switch
        {
            0 => ClientCertificateMode.None,
            1 => ClientCertificateMode.Optional,
            _ => ClientCertificateMode.Required,
        };
        var ciphers = settings.Ciphers is { Length: > 0 } c ? c : null;
        return new TlsSettings(cert, key, ca, reqs, ciphers);
    }

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
