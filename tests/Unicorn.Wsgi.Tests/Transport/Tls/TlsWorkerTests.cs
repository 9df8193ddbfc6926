using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Tests.Workers;
using Unicorn.Wsgi.Transport.Tls;

namespace Unicorn.Wsgi.Tests.Transport.Tls;

/// <summary>A worker with TLS configured, talked to by a .NET SslStream client: scheme, ALPN, client certificates.</summary>
public sealed class TlsWorkerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-tls-unit-").FullName;
    private readonly X509Certificate2 _ca;
    private readonly X509Certificate2 _client;

    public TlsWorkerTests()
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Unit CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        _ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
        File.WriteAllText(Path("ca.pem"), _ca.ExportCertificatePem());

        using var serverKey = RSA.Create(2048);
        var server = Issue("CN=localhost", serverKey);
        File.WriteAllText(Path("server.pem"), server.ExportCertificatePem());
        File.WriteAllText(Path("server.key"), serverKey.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path("combined.pem"), server.ExportCertificatePem() + "\n" + serverKey.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path("encrypted.key"), serverKey.ExportEncryptedPkcs8PrivateKeyPem("pw",
            new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000)));

        var clientKey = RSA.Create(2048);
        _client = Issue("CN=unit client", clientKey).CopyWithPrivateKey(clientKey);
    }

    private string Path(string name) => System.IO.Path.Combine(_dir, name);

    private X509Certificate2 Issue(string subject, RSA key)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return request.Create(_ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8));
    }

    private void Configure(Settings s, int certReqs, string certfile = "server.pem", string? keyfile = "server.key")
    {
        s.Set("certfile", Path(certfile));
        s.Set("keyfile", keyfile is null ? null : Path(keyfile));
        s.Set("cert_reqs", certReqs);
        s.Set("ca_certs", Path("ca.pem"));
        s.Set("ciphers", null);
    }

    private static async Task<(string Response, SslApplicationProtocol Alpn)> GetAsync(WorkerHarness h, X509Certificate2? clientCert, string? beforeHandshake = null)
    {
        using var socket = await h.ConnectAsync();
        if (beforeHandshake is not null)
        {
            await socket.SendAsync(Encoding.Latin1.GetBytes(beforeHandshake));
        }

        await using var ssl = new SslStream(new System.Net.Sockets.NetworkStream(socket, ownsSocket: false));
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
            ClientCertificates = clientCert is null ? null : [clientCert],
        });
        await ssl.WriteAsync("GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"u8.ToArray());
        using var reader = new StreamReader(ssl, Encoding.Latin1);
        return (await reader.ReadToEndAsync(), ssl.NegotiatedApplicationProtocol);
    }

    private static void Capture(WsgiRequest request, IResponseSink response, List<WsgiRequest> seen)
    {
        lock (seen)
        {
            seen.Add(request);
        }

        response.SetResponse("200 OK", [new("Content-Length", "2")]);
        response.Write("ok"u8);
        response.Complete();
    }

    [Fact]
    public async Task Requests_over_tls_are_https_with_alpn_http11_and_no_client_environ()
    {
        var seen = new List<WsgiRequest>();
        await using var h = new WorkerHarness((req, resp) => Capture(req, resp, seen), s => Configure(s, certReqs: 0));
        var (response, alpn) = await GetAsync(h, null);
        Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
        Assert.Equal(SslApplicationProtocol.Http11, alpn);
        var request = Assert.Single(seen);
        Assert.Equal("https", request.UrlScheme);
        Assert.Equal(h.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), request.ServerPort); // the listener's, as Gunicorn
        Assert.Null(request.ExtraEnviron);
    }

    [Fact]
    public async Task A_proxy_header_comes_in_the_clear_before_the_handshake()
    {
        // As HAProxy's send-proxy and nginx's proxy_protocol send it: the PROXY stage runs before TLS.
        var seen = new List<WsgiRequest>();
        await using var h = new WorkerHarness((req, resp) => Capture(req, resp, seen), s =>
        {
            Configure(s, certReqs: 0);
            s.Set("proxy_protocol", "v1");
        });
        var (response, alpn) = await GetAsync(h, null, "PROXY TCP4 192.0.2.9 198.51.100.1 40009 443\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
        Assert.Equal(SslApplicationProtocol.Http11, alpn);
        var request = Assert.Single(seen);
        Assert.Equal("https", request.UrlScheme);
        Assert.Equal(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("192.0.2.9"), 40009), request.RemoteEndPoint);
    }

    [Fact]
    public async Task A_verified_client_certificate_becomes_ssl_client_environ_keys()
    {
        var seen = new List<WsgiRequest>();
        await using var h = new WorkerHarness((req, resp) => Capture(req, resp, seen), s => Configure(s, certReqs: 2, certfile: "combined.pem", keyfile: null));
        var (response, _) = await GetAsync(h, _client);
        Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
        var environ = Assert.Single(seen).ExtraEnviron!.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("SUCCESS", environ["SSL_CLIENT_VERIFY"]);
        Assert.Equal("CN=unit client", environ["SSL_CLIENT_S_DN"]);
        Assert.Equal("CN=Unit CA", environ["SSL_CLIENT_I_DN"]);
        Assert.Equal(_client.ExportCertificatePem(), environ["SSL_CLIENT_CERT"]);
    }

    [Fact]
    public async Task With_cert_reqs_2_a_client_without_a_certificate_never_reaches_the_app()
    {
        var seen = new List<WsgiRequest>();
        await using var h = new WorkerHarness((req, resp) => Capture(req, resp, seen), s => Configure(s, certReqs: 2));
        // TLS 1.3 reports a refused client certificate on the client's first read, 1.2 in the handshake.
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            var (response, _) = await GetAsync(h, null);
            Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        });
        Assert.Empty(seen);
    }

    [Fact]
    public void An_encrypted_key_and_a_missing_file_are_one_line_config_errors()
    {
        var settings = TestSettings.Defaults();
        Configure(settings, 0, keyfile: "encrypted.key");
        var encrypted = Assert.Throws<ConfigException>(() => TlsServer.FromSettings(settings, _dir));
        Assert.Contains("is encrypted", encrypted.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', encrypted.Message);

        Configure(settings, 0, certfile: "nope.pem");
        var missing = Assert.Throws<ConfigException>(() => TlsServer.FromSettings(settings, _dir));
        Assert.Equal($"unicorn: certfile \"{Path("nope.pem")}\" does not exist", missing.Message);

        Configure(settings, 0, certfile: _dir);
        var directory = Assert.Throws<ConfigException>(() => TlsServer.FromSettings(settings, _dir));
        Assert.Equal($"unicorn: certfile \"{_dir}\" is a directory, not a file", directory.Message);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _client.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
