using System.Text.Json;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Tls;

/// <summary>
/// The <c>ssl_context</c> hook as Gunicorn's docs and users write it: the master calls it once and serves with what
/// the returned context asks for (versions, certificate, client certificates, ALPN), or refuses it with one line.
/// </summary>
public sealed class SslContextHookTests : IDisposable
{
    private readonly TestCertificates _certs = new();

    [Fact]
    public void The_docs_example_raising_the_minimum_to_tls13_refuses_tls12_also_after_a_hup()
    {
        // Gunicorn's settings docs, ssl_context, as written.
        var config = Config("docs.py", """
            def ssl_context(conf, default_ssl_context_factory):
                import ssl
                context = default_ssl_context_factory()
                context.minimum_version = ssl.TLSVersion.TLSv1_3
                return context
            """);
        var port = UnicornServer.FreePort();
        using var server = TlsServerFixture.StartTls(_certs, port, "-c", config);
        AssertTls12RefusedAndTls13Served(port, server);

        // The workers a HUP starts have the reading too: it travels with the settings, not the first workers alone.
        server.Signal(UnicornServer.SIGHUP);
        server.WaitForLog("Booting worker with pid", times: 2);
        Assert.True(UnicornServer.Poll(() => server.Count("Worker exiting") >= 1, 30), server.Log);
        AssertTls12RefusedAndTls13Served(port, server);
    }

    [Fact]
    public void A_context_the_hook_builds_itself_serves_its_certificate_and_requires_its_client_cas()
    {
        var (renewedCert, renewedKey) = _certs.IssueServer("own", "/CN=localhost/O=Own");
        var config = Config("own.py", $$"""
            import ssl

            def ssl_context(conf, default_ssl_context_factory):
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain({{Py(renewedCert)}}, keyfile={{Py(renewedKey)}})
                context.load_verify_locations(cafile={{Py(_certs.CaCert)}})
                context.verify_mode = ssl.CERT_REQUIRED
                return context
            """);
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.flask_deploy:app", "-b", $"127.0.0.1:{port}", "-c", config,
            "--certfile", _certs.ServerCert, "--keyfile", _certs.ServerKey);
        var url = $"https://localhost:{port}/environ";
        string[] resolve = ["--cacert", _certs.CaCert, "--resolve", $"localhost:{port}:127.0.0.1"];
        Assert.True(UnicornServer.Poll(() => ExternalTool.Curl([.. resolve, "--cert", _certs.ClientCert, "--key", _certs.ClientKey, url]).ExitCode == 0, 60), server.Log);

        var with = ExternalTool.Curl([.. resolve, "-v", "--cert", _certs.ClientCert, "--key", _certs.ClientKey, url]);
        Assert.Contains("O=Own", with.Stderr, StringComparison.Ordinal);
        using var environ = JsonDocument.Parse(with.Stdout);
        Assert.Equal("SUCCESS", environ.RootElement.GetProperty("SSL_CLIENT_VERIFY").GetString());
        Assert.NotEqual(0, ExternalTool.Curl([.. resolve, url]).ExitCode);
    }

    [Fact]
    public void An_encrypted_key_loads_with_the_password_the_hook_gives()
    {
        var config = Config("password.py", $$"""
            def ssl_context(conf, default_ssl_context_factory):
                import ssl
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                context.load_cert_chain(conf.certfile, {{Py(_certs.EncryptedServerKey)}}, password=lambda: "secret")
                return context
            """);
        var port = UnicornServer.FreePort();
        using var server = TlsServerFixture.StartTls(_certs, port, "-c", config);
        var result = ExternalTool.Curl("--cacert", _certs.CaCert, "--resolve", $"localhost:{port}:127.0.0.1", $"https://localhost:{port}/json");
        Assert.True(result.ExitCode == 0, result.All + server.Log);
    }

    [Fact]
    public void Set_alpn_protocols_narrows_what_the_worker_offers()
    {
        var config = Config("alpn.py", """
            def ssl_context(conf, default_ssl_context_factory):
                context = default_ssl_context_factory()
                context.set_alpn_protocols(["http/1.1"])
                return context
            """);
        var port = UnicornServer.FreePort();
        using var server = TlsServerFixture.StartTls(_certs, port, "-c", config, "-k", "gthread", "--http-protocols", "h2,h1");
        var result = ExternalTool.Curl("-v", "--http2", "--cacert", _certs.CaCert, "--resolve", $"localhost:{port}:127.0.0.1", $"https://localhost:{port}/json");
        Assert.True(result.ExitCode == 0, result.All);
        Assert.Contains("ALPN: server accepted http/1.1", result.Stderr, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Refused => new()
    {
        { "raise RuntimeError('no context today')", ") failed: RuntimeError: no context today" },
        { "return None", "failed: TypeError: it returned NoneType, not an ssl.SSLContext" },
        { "context = default_ssl_context_factory()\n    context.sni_callback = lambda *a: None\n    return context", "asks for what Unicorn's TLS (.NET SslStream) cannot do: sni_callback" },
        { "context = default_ssl_context_factory()\n    context.set_ecdh_curve('prime256v1')\n    return context", "cannot do: set_ecdh_curve()" },
        { "import ssl\n    context = default_ssl_context_factory()\n    context.options |= ssl.OP_NO_TICKET\n    return context", "cannot do: OP_NO_TICKET" },
        { "import ssl\n    return ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)", "has no certificate (load_cert_chain was not called on it)" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_hook_that_fails_or_asks_for_what_sslstream_cannot_do_stops_the_master_with_one_line(string body, string expected)
    {
        var config = Config("refused.py", "def ssl_context(conf, default_ssl_context_factory):\n    " + body + "\n");
        using var server = UnicornServer.Start("pyfixtures.hello:app", "-b", $"127.0.0.1:{UnicornServer.FreePort()}", "-c", config,
            "--certfile", _certs.ServerCert, "--keyfile", _certs.ServerKey);
        var line = TlsServerFixture.TheOneErrorLine(server);
        Assert.StartsWith("unicorn: the ssl_context hook (", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("Traceback", server.Log, StringComparison.Ordinal);
    }

    private void AssertTls12RefusedAndTls13Served(int port, UnicornServer server)
    {
        string[] common = ["--cacert", _certs.CaCert, "--resolve", $"localhost:{port}:127.0.0.1", $"https://localhost:{port}/json"];
        var tls12 = ExternalTool.Curl(["--tlsv1.2", "--tls-max", "1.2", .. common]);
        Assert.True(tls12.ExitCode != 0, "TLS 1.2 was served: " + tls12.All + server.Log);
        var tls13 = ExternalTool.Curl(["-v", .. common]);
        Assert.True(tls13.ExitCode == 0, tls13.All + server.Log);
        Assert.Contains("TLSv1.3", tls13.Stderr, StringComparison.Ordinal);
    }

    private string Config(string name, string text)
    {
        var path = _certs.Path(name);
        File.WriteAllText(path, text + "\n");
        return path;
    }

    private static string Py(string path) => JsonSerializer.Serialize(path);

    public void Dispose() => _certs.Dispose();
}
