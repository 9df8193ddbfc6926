using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Tls;

/// <summary>
/// TLS through the real binary with real clients (curl, openssl s_client): wsgi.url_scheme, ALPN, optional client
/// certificates, file_wrapper without sendfile, and handshakes that never hold the app thread.
/// </summary>
public sealed class TlsTests(TlsServerFixture fixture) : IClassFixture<TlsServerFixture>
{
    private TestCertificates Certs => fixture.Certificates;

    [Fact]
    public void Tls_workers_keep_socket_completions_off_the_epoll_thread()
    {
        // A handshake is CPU-heavy: run inline on the epoll thread it would hold up every other connection.
        var worker = Assert.Single(fixture.Server.Workers());
        Assert.False(UnicornServer.EnvironmentOf(worker).ContainsKey("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"));
    }

    [Fact]
    public void Curl_sees_https_in_the_environ_and_the_server_chose_http11_by_alpn()
    {
        var result = ExternalTool.Curl("-v", "--cacert", Certs.CaCert, fixture.Url("/environ"));
        Assert.True(result.ExitCode == 0, result.All);
        using var environ = JsonDocument.Parse(result.Stdout);
        Assert.Equal("https", environ.RootElement.GetProperty("wsgi.url_scheme").GetString());
        Assert.Equal(JsonValueKind.Null, environ.RootElement.GetProperty("SSL_CLIENT_VERIFY").ValueKind);
        // curl offers h2 and http/1.1; Unicorn speaks HTTP/1.1 only and says so in the handshake.
        Assert.Contains("ALPN: server accepted http/1.1", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_client_certificate_signed_by_ca_certs_reaches_the_environ()
    {
        var result = ExternalTool.Curl("--cacert", Certs.CaCert, "--cert", Certs.ClientCert, "--key", Certs.ClientKey, fixture.Url("/environ"));
        Assert.True(result.ExitCode == 0, result.All);
        using var environ = JsonDocument.Parse(result.Stdout);
        var root = environ.RootElement;
        Assert.Equal("SUCCESS", root.GetProperty("SSL_CLIENT_VERIFY").GetString());
        Assert.Contains("CN=test client", root.GetProperty("SSL_CLIENT_S_DN").GetString(), StringComparison.Ordinal);
        Assert.Contains("CN=Unicorn Test CA", root.GetProperty("SSL_CLIENT_I_DN").GetString(), StringComparison.Ordinal);
        var pem = root.GetProperty("SSL_CLIENT_CERT").GetString()!;
        Assert.Equal(File.ReadAllText(Certs.ClientCert).Trim(), pem.Trim());
    }

    [Fact]
    public void With_cert_reqs_1_a_certificate_from_another_ca_is_refused()
    {
        var result = ExternalTool.Curl("--cacert", Certs.CaCert, "--cert", Certs.RogueCert, "--key", Certs.RogueKey, fixture.Url("/environ"));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Equal(0, ExternalTool.Curl("--cacert", Certs.CaCert, "-o", "/dev/null", fixture.Url("/json")).ExitCode);
    }

    [Fact]
    public void Send_file_over_tls_goes_through_the_stream_not_sendfile_and_arrives_intact()
    {
        var source = Certs.Path("payload.bin");
        var copy = Certs.Path("payload.copy");
        var bytes = new byte[300_001];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(source, bytes);
        using var trace = new Frameworks.SendfileTrace(Assert.Single(fixture.Server.Workers()));
        var result = ExternalTool.Curl("-D", "-", "--cacert", Certs.CaCert, "-o", copy, fixture.Url("/file?path=" + Uri.EscapeDataString(source)));
        Assert.Empty(trace.Stop());
        Assert.True(result.ExitCode == 0, result.All);
        Assert.Contains("X-File-Wrapper: _unicorn_bridge.FileWrapper", result.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(bytes, File.ReadAllBytes(copy));
    }

    [Fact]
    public void Openssl_s_client_negotiates_http11_and_gets_pipelined_responses()
    {
        // Two pipelined requests on one TLS connection: keep-alive and pipelining work over TLS too.
        var request = "GET /stream?n=2 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /json HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        var result = ExternalTool.Run("openssl", ["s_client", "-connect", $"127.0.0.1:{fixture.Port}", "-servername", "localhost",
            "-alpn", "h2,http/1.1", "-CAfile", Certs.CaCert, "-ign_eof"], stdin: request);
        Assert.Contains("ALPN protocol: http/1.1", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("Verify return code: 0 (ok)", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(2, result.Stdout.Split("HTTP/1.1 200 OK").Length - 1);
        Assert.Contains("\r\nline 0\n\r\n", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("\r\nline 1\n\r\n", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"scheme\":\"https\"", result.Stdout.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void Stalled_handshakes_and_plain_http_do_not_hold_the_single_app_thread()
    {
        // The worker is sync (one Python thread). Clients stuck before or in the handshake wait on async I/O.
        using var silent = Connect();
        using var partial = Connect();
        partial.Send([0x16, 0x03, 0x01, 0x02, 0x00]);
        using var plain = Connect();
        plain.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());

        for (var i = 0; i < 3; i++)
        {
            var result = ExternalTool.Curl("--cacert", Certs.CaCert, fixture.Url("/json"));
            Assert.True(result.ExitCode == 0, result.All);
        }

        // Plain HTTP on a TLS port gets no HTTP answer: the handshake fails and the connection is closed.
        plain.ReceiveTimeout = 20_000;
        var buffer = new byte[4096];
        var read = 0;
        try
        {
            read = plain.Receive(buffer);
        }
        catch (SocketException)
        {
        }

        Assert.DoesNotContain("HTTP/1.1 200", System.Text.Encoding.Latin1.GetString(buffer, 0, read), StringComparison.Ordinal);
    }

    private Socket Connect()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect(new IPEndPoint(IPAddress.Loopback, fixture.Port));
        return socket;
    }
}
