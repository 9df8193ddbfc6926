using System.Globalization;
using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Http2;

/// <summary>What http_protocols changes in a worker: ALPN, HTTP/2 only, and no ASP.NET Core without h2.</summary>
public sealed class Http2SettingsTests : IDisposable
{
    private static readonly string UpgradeScript = Path.Combine(UnicornServer.RepoRoot, "tests", "Unicorn.EndToEnd.Tests", "Http2", "h2c_upgrade.py");

    private readonly TestCertificates _certs = new();

    [Fact]
    public void A_worker_without_h2_never_loads_kestrel_and_one_with_h2_does()
    {
        // The JIT build loads assemblies from files as they are first used (the native build is one library).
        var jit = UnicornServer.JitBuild();
        var plainPort = UnicornServer.FreePort();
        using var plain = Http2ServerFixture.Start(_certs, plainPort, jit);
        var h2Port = UnicornServer.FreePort();
        using var h2 = Http2ServerFixture.Start(_certs, h2Port, jit, "--http-protocols", "h2,h1");
        Assert.Equal(0, ExternalTool.Curl("-k", "-o", "/dev/null", $"https://127.0.0.1:{plainPort}/").ExitCode);
        Assert.Equal(0, ExternalTool.Curl("-k", "--http2", "-o", "/dev/null", $"https://127.0.0.1:{h2Port}/").ExitCode);

        Assert.DoesNotContain("Microsoft.AspNetCore", File.ReadAllText($"/proc/{plain.Workers().Single()}/maps"), StringComparison.Ordinal);
        Assert.Contains("Microsoft.AspNetCore.Server.Kestrel", File.ReadAllText($"/proc/{h2.Workers().Single()}/maps"), StringComparison.Ordinal);
    }

    [Fact]
    public void Http2_only_offers_h2_alone_and_an_http_1_1_client_is_refused()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(
        [
            "pyfixtures.http2_app:app", "-b", $"127.0.0.1:{port}", "--certfile", _certs.ServerCert, "--keyfile", _certs.ServerKey, "--http-protocols", "h2",
        ]);
        Assert.True(UnicornServer.Poll(() => ExternalTool.Run("curl", ["-sk", "--http2", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", $"https://127.0.0.1:{port}/"]).Stdout == "200", 90), server.Log);

        var h1 = ExternalTool.Curl("-k", "--http1.1", "-o", "/dev/null", "-w", "%{http_code}", $"https://127.0.0.1:{port}/");
        Assert.NotEqual("200", h1.Stdout);
    }

    [Fact]
    public void Max_requests_counts_streams_and_the_retiring_worker_sends_goaway_so_the_client_moves_on()
    {
        var port = UnicornServer.FreePort();
        using var server = Http2ServerFixture.Start(_certs, port, "--http-protocols", "h2,h1", "--max-requests", "4");
        var url = $"https://127.0.0.1:{port}/";
        // The fixture's probe was request 1; three streams on one connection make 2-4, and the fourth retires
        // the worker, whose GOAWAY ends the connection once they are answered.
        string[] args = ["-k", "--http2", .. Enumerable.Range(0, 3).SelectMany(_ => new[] { "-o", "/dev/null", "-w", "%{http_code} %{http_version}\n", url })];
        var result = ExternalTool.Curl(args);
        Assert.True(result.ExitCode == 0, result.All + server.Log);
        Assert.Equal(["200 2", "200 2", "200 2"], result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        server.WaitForLog("Autorestarting worker after current request.", 1, 60);
        server.WaitForLog("Booting worker with pid", 2, 60);

        // The next client reaches the successor.
        Assert.True(UnicornServer.Poll(() => ExternalTool.Curl("-k", "--http2", "-o", "/dev/null", "-w", "%{http_code} %{http_version}", url).Stdout == "200 2", 60), server.Log);
    }

    [Fact]
    public void H2c_prior_knowledge_is_served_to_forwarded_allow_ips_peers_only()
    {
        var trustedPort = UnicornServer.FreePort();
        using var trusted = UnicornServer.Start(["pyfixtures.http2_app:app", "-b", $"127.0.0.1:{trustedPort}", "--http-protocols", "h2,h1", "--http2-cleartext", "prior-knowledge"]);
        var otherPort = UnicornServer.FreePort();
        using var other = UnicornServer.Start(["pyfixtures.http2_app:app", "-b", $"127.0.0.1:{otherPort}", "--http-protocols", "h2,h1", "--http2-cleartext", "prior-knowledge", "--forwarded-allow-ips", "10.9.9.9"]);
        trusted.WaitUntilResponding(trustedPort, "/", 90);
        other.WaitUntilResponding(otherPort, "/", 90);

        // A client's own Version header does not change HTTP_VERSION, which Gunicorn 26.1 sets on HTTP/2 requests.
        var h2c = ExternalTool.Curl("--http2-prior-knowledge", "-H", "Version: 9", "-w", "version=%{http_version}", $"http://127.0.0.1:{trustedPort}/environ");
        Assert.True(h2c.ExitCode == 0, h2c.All);
        Assert.Contains("SERVER_PROTOCOL=HTTP/2\n", h2c.Stdout, StringComparison.Ordinal);
        Assert.Contains("HTTP_VERSION=2\n", h2c.Stdout, StringComparison.Ordinal);
        Assert.Contains("wsgi.url_scheme=http\n", h2c.Stdout, StringComparison.Ordinal);
        // The same listener still serves HTTP/1.1.
        var h1 = ExternalTool.Curl("-w", "version=%{http_version}", $"http://127.0.0.1:{trustedPort}/environ");
        Assert.Contains("SERVER_PROTOCOL=HTTP/1.1\n", h1.Stdout, StringComparison.Ordinal);
        Assert.Contains("HTTP_VERSION=None\n", h1.Stdout, StringComparison.Ordinal);

        // A peer outside forwarded_allow_ips sending the preface is an HTTP/1 client with a bad request line.
        var refused = ExternalTool.Curl("--http2-prior-knowledge", $"http://127.0.0.1:{otherPort}/environ");
        Assert.DoesNotContain("SERVER_PROTOCOL=HTTP/2", refused.Stdout, StringComparison.Ordinal);
        other.WaitForLog("Invalid request from ip=127.0.0.1: Invalid HTTP request line: 'PRI * HTTP/2.0'");
    }

    [Fact]
    public void H2c_by_upgrade_answers_101_and_the_request_on_stream_1_for_trusted_peers_only()
    {
        var trustedPort = UnicornServer.FreePort();
        using var trusted = UnicornServer.Start(["pyfixtures.http2_app:app", "-b", $"127.0.0.1:{trustedPort}", "--http-protocols", "h2,h1", "--http2-cleartext", "both", "-k", "gthread", "--threads", "4", "--access-logfile", "-"]);
        var otherPort = UnicornServer.FreePort();
        using var other = UnicornServer.Start(["pyfixtures.http2_app:app", "-b", $"127.0.0.1:{otherPort}", "--http-protocols", "h2,h1", "--http2-cleartext", "upgrade", "--forwarded-allow-ips", "10.9.9.9"]);
        trusted.WaitUntilResponding(trustedPort, "/", 90);
        other.WaitUntilResponding(otherPort, "/", 90);

        // curl --http2 on an http:// URL asks for h2c by Upgrade: 101, then the answer comes over HTTP/2.
        var upgraded = ExternalTool.Curl("--http2", "-v", "-w", "version=%{http_version}", $"http://127.0.0.1:{trustedPort}/environ?u=1");
        Assert.True(upgraded.ExitCode == 0, upgraded.All);
        Assert.Contains("101 Switching Protocols", upgraded.Stderr, StringComparison.Ordinal);
        Assert.Contains("version=2", upgraded.Stdout, StringComparison.Ordinal);
        Assert.Contains("SERVER_PROTOCOL=HTTP/2\n", upgraded.Stdout, StringComparison.Ordinal);
        Assert.Contains("QUERY_STRING=u=1\n", upgraded.Stdout, StringComparison.Ordinal);
        Assert.Contains($"HTTP_HOST=127.0.0.1:{trustedPort}\n", upgraded.Stdout, StringComparison.Ordinal);
        // The upgrade's own fields are the HTTP/1.1 hop's: the app does not see them on the HTTP/2 stream.
        Assert.Contains("HTTP_UPGRADE=None\n", upgraded.Stdout, StringComparison.Ordinal);
        Assert.Contains("HTTP_HTTP2_SETTINGS=None\n", upgraded.Stdout, StringComparison.Ordinal);
        trusted.WaitForLog("\"GET /environ?u=1 HTTP/2\" 200");

        // python3-h2 as the client: stream 1 is the upgrade request with its fields, then stream 3 on the same connection.
        var h2 = ExternalTool.Run("/usr/bin/python3", [UpgradeScript, trustedPort.ToString(CultureInfo.InvariantCulture), "/environ"], timeoutSeconds: 60);
        Assert.True(h2.ExitCode == 0, h2.All);
        var streams = h2.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, streams.Length);
        Assert.StartsWith("stream=1 status=200 ", streams[0], StringComparison.Ordinal);
        Assert.Contains("HTTP_X_PROBE=one", streams[0], StringComparison.Ordinal);
        Assert.Contains("SERVER_PROTOCOL=HTTP/2", streams[0], StringComparison.Ordinal);
        Assert.StartsWith("stream=3 status=200 ", streams[1], StringComparison.Ordinal);

        // A request with a body keeps HTTP/1.1 (the RFC lets the server ignore Upgrade), and is answered whole.
        var post = ExternalTool.Curl("--http2", "--data-binary", "hello h2c", "-w", " version=%{http_version}", $"http://127.0.0.1:{trustedPort}/echo");
        Assert.Equal("hello h2c version=1.1", post.Stdout);
        // both: prior knowledge works on the same listener.
        var prior = ExternalTool.Curl("--http2-prior-knowledge", "-w", "version=%{http_version}", $"http://127.0.0.1:{trustedPort}/");
        Assert.Equal("Hello, World!\nversion=2", prior.Stdout);

        // A peer outside forwarded_allow_ips keeps HTTP/1.1: the Upgrade header is ignored.
        var refused = ExternalTool.Curl("--http2", "-w", "version=%{http_version}", $"http://127.0.0.1:{otherPort}/environ");
        Assert.True(refused.ExitCode == 0, refused.All);
        Assert.Contains("SERVER_PROTOCOL=HTTP/1.1\n", refused.Stdout, StringComparison.Ordinal);
        Assert.Contains("version=1.1", refused.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", trusted.Log + other.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void Idle_http2_connections_are_evicted_with_goaway_when_worker_connections_are_all_taken()
    {
        var port = UnicornServer.FreePort();
        // keepalive 30 s: without eviction the third client would wait that long for a slot.
        using var server = Http2ServerFixture.Start(_certs, port, "--http-protocols", "h2,h1", "-k", "gthread", "--threads", "2", "--worker-connections", "2", "--keep-alive", "30");
        var result = Http2ServerFixture.Hostile(port, 120, "idle_eviction", "2");
        Assert.True(result.ExitCode == 0, result.All);
        // The connection idle longest is told to go (graceful GOAWAY) as the new client needs its slot, and the new
        // client is served at once rather than after keepalive. The other gives way too if a slot is still wanted
        // once it has idled 250 ms; by then one may have freed.
        Assert.Matches(@"evicted=GOAWAY NO_ERROR,(GOAWAY NO_ERROR|timeout) normal=200 ", result.Stdout);
        var seconds = double.Parse(result.Stdout.Split("seconds=")[1], CultureInfo.InvariantCulture);
        Assert.True(seconds < 10, result.Stdout);
    }

    [Fact]
    public void Http_protocols_h3_stops_the_master_with_one_line()
    {
        using var server = UnicornServer.Start(["pyfixtures.hello:app", "-b", $"127.0.0.1:{UnicornServer.FreePort()}", "--http-protocols", "h2,h3"]);
        Assert.Equal(1, server.WaitForExit(60));
        UnicornServer.Poll(() => server.Lines.Any(l => l.StartsWith("unicorn:", StringComparison.Ordinal)), 10);
        var line = Assert.Single(server.Lines, l => l.StartsWith("unicorn:", StringComparison.Ordinal));
        Assert.Contains("h3 (HTTP/3) is not implemented", line, StringComparison.Ordinal);
    }

    public void Dispose() => _certs.Dispose();
}
