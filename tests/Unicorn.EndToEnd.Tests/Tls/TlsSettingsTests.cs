using System.Text.Json;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Tls;

/// <summary>cert_reqs 2, cipher lists, and the TLS settings Unicorn refuses at start-up with one line.</summary>
public sealed class TlsSettingsTests : IDisposable
{
    private readonly TestCertificates _certs = new();

    [Fact]
    public void Cert_reqs_2_requires_a_client_certificate_from_ca_certs()
    {
        var port = UnicornServer.FreePort();
        using var server = StartWithClientCert(port);
        var url = $"https://127.0.0.1:{port}/environ";

        var without = ExternalTool.Curl("--cacert", _certs.CaCert, url);
        Assert.NotEqual(0, without.ExitCode);
        var rogue = ExternalTool.Curl("--cacert", _certs.CaCert, "--cert", _certs.RogueCert, "--key", _certs.RogueKey, url);
        Assert.NotEqual(0, rogue.ExitCode);

        var with = ExternalTool.Curl("--cacert", _certs.CaCert, "--cert", _certs.ClientCert, "--key", _certs.ClientKey, url);
        Assert.True(with.ExitCode == 0, with.All);
        using var environ = JsonDocument.Parse(with.Stdout);
        Assert.Equal("SUCCESS", environ.RootElement.GetProperty("SSL_CLIENT_VERIFY").GetString());
    }

    [Fact]
    public void A_refused_handshake_is_a_warning_naming_the_peer_and_why_as_gunicorn_logs_it()
    {
        // Gunicorn 26.1: `Invalid request from ip=127.0.0.1: [SSL: PEER_DID_NOT_RETURN_A_CERTIFICATE] peer did not
        // return a certificate`; without the reason a client-certificate setup cannot be debugged from the log.
        var port = UnicornServer.FreePort();
        using var server = StartWithClientCert(port);
        var url = $"https://127.0.0.1:{port}/environ";

        Assert.NotEqual(0, ExternalTool.Curl("--cacert", _certs.CaCert, url).ExitCode);
        Assert.NotEqual(0, ExternalTool.Curl("--cacert", _certs.CaCert, "--cert", _certs.RogueCert, "--key", _certs.RogueKey, url).ExitCode);
        Assert.NotEqual(0, ExternalTool.Curl($"http://127.0.0.1:{port}/").ExitCode);

        const string prefix = "[WARNING] Invalid request from ip=127.0.0.1: ";
        Assert.True(UnicornServer.Poll(() => server.Count(prefix) >= 3, 10), server.Log);
        Assert.Equal(1, server.Count(prefix + "peer did not return a certificate"));
        Assert.Equal(1, server.Count(prefix + "certificate verify failed"));
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http/1.1")]
    [InlineData("h2")]
    public void A_corrupt_record_after_the_handshake_is_a_warning_and_the_worker_serves_on(string alpn)
    {
        // Gunicorn 26.1 (gthread, HTTP/1.1): `Invalid request from ip=127.0.0.1: [SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC]
        // decryption failed or bad record mac` (HTTP/2: an ERROR with a traceback). A record that fails to decrypt is a client (or a middlebox) sending
        // garbage, not a client that went away: it gets one line, as a refused handshake does.
        var port = UnicornServer.FreePort();
        using var server = TlsServerFixture.StartTls(_certs, port, "--http-protocols", "h2,h1", "-k", "gthread");
        var script = _certs.Path("corrupt_record.py");
        File.WriteAllText(script, $$"""
            import socket, ssl
            ctx = ssl.create_default_context(cafile={{JsonSerializer.Serialize(_certs.CaCert)}})
            ctx.set_alpn_protocols([{{JsonSerializer.Serialize(alpn)}}])
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", {{port}})), server_hostname="localhost")
            assert s.selected_alpn_protocol() == {{JsonSerializer.Serialize(alpn)}}, s.selected_alpn_protocol()
            raw = socket.socket(fileno=s.detach())
            raw.sendall(b"\x17\x03\x03\x00\x40" + b"B" * 64)  # application data that no key decrypts
            raw.settimeout(10)
            try:
                while raw.recv(4096):
                    pass
            except OSError:
                pass
            print("closed")
            """);
        var client = ExternalTool.Run(Environment.GetEnvironmentVariable("UNICORN_PYTHON") ?? "python3", [script]);
        Assert.True(client.ExitCode == 0 && client.Stdout.Contains("closed", StringComparison.Ordinal), client.All + server.Log);

        // HTTP/2 says it as its other connection errors, with Kestrel's connection id (docs/http2.md).
        var line = alpn == "h2" ? "[INFO] HTTP/2: Connection id \"" : "[WARNING] Invalid request from ip=127.0.0.1: ";
        Assert.True(UnicornServer.Poll(() => server.Count(line) >= 1, 10), server.Log);
        Assert.Contains("decryption failed or bad record mac", server.Lines.First(l => l.Contains(line, StringComparison.Ordinal)), StringComparison.Ordinal);
        var after = ExternalTool.Curl("--cacert", _certs.CaCert, $"https://127.0.0.1:{port}/json");
        Assert.True(after.ExitCode == 0, after.All + server.Log);
        Assert.Equal(1, server.Count(line));
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void Ciphers_takes_an_openssl_cipher_string_for_tls12()
    {
        var port = UnicornServer.FreePort();
        using var server = TlsServerFixture.StartTls(_certs, port, "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256");
        var url = $"https://127.0.0.1:{port}/json";

        var allowed = ExternalTool.Curl("-v", "--cacert", _certs.CaCert, "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384", url);
        Assert.True(allowed.ExitCode == 0, allowed.All);
        Assert.Contains("ECDHE-RSA-AES128-GCM-SHA256", allowed.Stderr, StringComparison.Ordinal);

        var refused = ExternalTool.Curl("--cacert", _certs.CaCert, "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES256-GCM-SHA384", url);
        Assert.NotEqual(0, refused.ExitCode);

        // As Python's set_ciphers, the string governs TLS 1.2 and older; TLS 1.3 keeps its suites.
        var tls13 = ExternalTool.Curl("--cacert", _certs.CaCert, "--tlsv1.3", url);
        Assert.True(tls13.ExitCode == 0, tls13.All);
    }

    public static TheoryData<string, string> BadSettings => new()
    {
        { "encrypted", "is encrypted; Unicorn cannot ask for its passphrase" },
        { "missing", "certfile \"/nonexistent/cert.pem\" does not exist" },
        { "ciphers", "--ciphers 'NO-SUCH-CIPHER' selects no cipher" },
        { "mismatch", "does not hold the private key of certfile" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void A_tls_setting_unicorn_cannot_honour_stops_the_master_with_one_line(string kind, string expected)
    {
        string[] args = kind switch
        {
            "encrypted" => ["--certfile", _certs.ServerCert, "--keyfile", _certs.EncryptedServerKey],
            "missing" => ["--certfile", "/nonexistent/cert.pem", "--keyfile", _certs.ServerKey],
            "ciphers" => ["--certfile", _certs.ServerCert, "--keyfile", _certs.ServerKey, "--ciphers", "NO-SUCH-CIPHER"],
            _ => ["--certfile", _certs.ServerCert, "--keyfile", _certs.RogueKey],
        };
        using var server = UnicornServer.Start(["pyfixtures.hello:app", "-b", $"127.0.0.1:{UnicornServer.FreePort()}", .. args]);
        Assert.Contains(expected, TlsServerFixture.TheOneErrorLine(server), StringComparison.Ordinal);
    }

    [Fact]
    public void Hup_picks_up_a_renewed_certificate_without_dropping_the_listener()
    {
        // Certificate rotation as operators do it with Gunicorn: replace the files, send HUP.
        using var server = StartOnCopiedFiles("live", "pyfixtures.flask_deploy:app", out var cert, out var key, out var port);
        Assert.True(UnicornServer.Poll(() => ServedSubject(port).Contains("CN = localhost", StringComparison.Ordinal), 60), server.Log);
        Assert.DoesNotContain("Renewed", ServedSubject(port), StringComparison.Ordinal);

        var (newCert, newKey) = _certs.IssueServer("renewed", "/CN=localhost/O=Renewed");
        File.Copy(newCert, cert, overwrite: true);
        File.Copy(newKey, key, overwrite: true);
        server.Signal(UnicornServer.SIGHUP);

        Assert.True(UnicornServer.Poll(() => ServedSubject(port).Contains("O = Renewed", StringComparison.Ordinal), 60), server.Log);
        var result = ExternalTool.Curl("--cacert", _certs.CaCert, $"https://127.0.0.1:{port}/json");
        Assert.True(result.ExitCode == 0, result.All);
    }

    [Fact]
    public void A_hup_with_a_key_that_does_not_match_keeps_the_running_workers()
    {
        // A rotation gone wrong (the new key copied over, the old certificate left): the new workers could not boot,
        // and the master stopped on it, taking the site down. The reload is refused instead, as nginx -s reload does.
        using var server = StartOnCopiedFiles("kept", "pyfixtures.hello:app", out var cert, out var key, out var port);
        Assert.True(UnicornServer.Poll(() => ExternalTool.Curl("--cacert", _certs.CaCert, $"https://localhost:{port}/", "--resolve", $"localhost:{port}:127.0.0.1").ExitCode == 0, 60), server.Log);

        File.Copy(_certs.RogueKey, key, overwrite: true);
        server.Signal(UnicornServer.SIGHUP);
        server.WaitForLog($"Error reloading the configuration, keeping the current one: unicorn: keyfile \"{key}\" does not hold the private key of certfile \"{cert}\"");
        var result = ExternalTool.Curl("--cacert", _certs.CaCert, $"https://localhost:{port}/", "--resolve", $"localhost:{port}:127.0.0.1");
        Assert.True(result.ExitCode == 0, result.All);
        Assert.DoesNotContain("Shutting down", server.Log, StringComparison.Ordinal);

        // Put right, the next HUP applies.
        File.Copy(_certs.ServerKey, key, overwrite: true);
        server.Signal(UnicornServer.SIGHUP);
        server.WaitForLog("Booting worker with pid", times: 2);
        Assert.Equal(1, server.Count("Error reloading the configuration"));
    }

    /// <summary>A server on copies of the test certificate and key (NAME.pem, NAME.key), for a test to replace them.</summary>
    private UnicornServer StartOnCopiedFiles(string name, string app, out string cert, out string key, out int port)
    {
        cert = _certs.Path(name + ".pem");
        key = _certs.Path(name + ".key");
        File.Copy(_certs.ServerCert, cert);
        File.Copy(_certs.ServerKey, key);
        port = UnicornServer.FreePort();
        return UnicornServer.Start(app, "-b", $"127.0.0.1:{port}", "--certfile", cert, "--keyfile", key);
    }

    private static string ServedSubject(int port)
    {
        var result = ExternalTool.Run("openssl", ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "localhost"], stdin: "", timeoutSeconds: 10);
        return result.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith("subject=", StringComparison.Ordinal)) ?? "";
    }

    [Fact]
    public void An_ssl_context_hook_without_tls_is_accepted_as_gunicorn_never_calls_it()
    {
        var config = _certs.Path("conf_plain.py");
        File.WriteAllText(config, "def ssl_context(config, default_ssl_context_factory):\n    return default_ssl_context_factory()\n");
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.hello:app", "-c", config, "-b", $"127.0.0.1:{port}");
        server.WaitUntilServing(port);
    }

    [Fact]
    public void Clients_that_connect_to_a_tls_port_and_send_nothing_give_way_when_every_slot_is_taken()
    {
        // As on a plain port, where a connection that sends nothing is idle and shed for a new client: three
        // silent TCP connections must not lock a worker with worker_connections 3 out until `timeout` (30 s)
        // ends their handshakes. Gunicorn 26.1's gthread worker is locked out for the whole timeout.
        var port = UnicornServer.FreePort();
        using var server = TlsServerFixture.StartTls(_certs, port, "-k", "gthread", "--threads", "2", "--worker-connections", "3");
        var silent = Enumerable.Range(0, 3).Select(_ =>
        {
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            socket.Connect(System.Net.IPAddress.Loopback, port);
            return socket;
        }).ToList();
        try
        {
            Thread.Sleep(1000);
            var result = ExternalTool.Curl("--max-time", "10", "--cacert", _certs.CaCert, "-o", "/dev/null", "-w", "%{http_code}", $"https://127.0.0.1:{port}/json");
            Assert.True(result.ExitCode == 0 && result.Stdout == "200", result.All + server.Log);
        }
        finally
        {
            silent.ForEach(s => s.Dispose());
        }
    }

    private UnicornServer StartWithClientCert(int port) =>
        TlsServerFixture.StartTlsRequiringClientCert(_certs, port);

    public void Dispose() => _certs.Dispose();
}
