using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Unicorn.Wsgi.Transport.Tls;

/// <summary>
/// One connection after its handshake: the stream to speak HTTP over, and what the environ learns from TLS.
/// Gunicorn puts nothing about the peer certificate in environ; with <c>cert_reqs</c> 1 or 2 Unicorn adds the
/// mod_ssl-style keys nginx and Apache users know (a documented addition, see docs/differences.md).
/// </summary>
public sealed class TlsConnection
{
    internal TlsConnection(SslStream stream)
    {
        Stream = stream;
        Environ = stream.RemoteCertificate is { } peer ? ClientCertificateEnviron(peer) : null;
        var alpn = stream.NegotiatedApplicationProtocol.Protocol;
        ApplicationProtocol = alpn.IsEmpty ? null : System.Text.Encoding.ASCII.GetString(alpn.Span);
    }

    public SslStream Stream { get; }

    /// <summary>The protocol ALPN agreed on ("http/1.1"), or null when the client offered none we speak.</summary>
    public string? ApplicationProtocol { get; }

    /// <summary>SSL_CLIENT_* keys when the client presented a (verified) certificate, else null.</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Environ { get; }

    private static KeyValuePair<string, string>[] ClientCertificateEnviron(X509Certificate peer)
    {
        var cert = peer as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(peer.GetRawCertData());
        return
        [
            new("SSL_CLIENT_VERIFY", "SUCCESS"),
            new("SSL_CLIENT_S_DN", cert.Subject),
            new("SSL_CLIENT_I_DN", cert.Issuer),
            new("SSL_CLIENT_M_SERIAL", cert.SerialNumber),
            new("SSL_CLIENT_CERT", cert.ExportCertificatePem()),
        ];
    }
}
