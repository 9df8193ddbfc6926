using System.Globalization;
using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Asgi;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Http2;

/// <summary>
/// RFC 8441 websockets over HTTP/2 are not offered (as by Gunicorn): the server's SETTINGS say
/// ENABLE_CONNECT_PROTOCOL 0 though Kestrel would send 1, so browsers keep websockets on HTTP/1.1, and an extended
/// CONNECT sent anyway is refused on its stream alone (h2_extended_connect.py, python3-h2).
/// </summary>
public sealed class Http2ExtendedConnectTests
{
    private static readonly string Client = Path.Combine(UnicornServer.RepoRoot, "tests", "Unicorn.EndToEnd.Tests", "Http2", "h2_extended_connect.py");

    [Fact]
    public void Asgi_websockets_are_not_advertised_over_h2_an_extended_connect_is_reset_and_wss_over_http_1_1_works()
    {
        using var certs = new TestCertificates();
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(
            "ws_app:app", "--chdir", "pyfixtures/asgi", "-k", "asgi", "--certfile", certs.ServerCert, "--keyfile", certs.ServerKey,
            "--http-protocols", "h2,h1", "--log-level", "debug", "-b", $"127.0.0.1:{port}");
        Assert.True(UnicornServer.Poll(() => ExternalTool.Run("curl", ["-sk", "--http2", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", $"https://127.0.0.1:{port}/"]).Stdout == "200", 90), server.Log);

        var h2 = ExternalTool.Run("/usr/bin/python3", [Client, port.ToString(CultureInfo.InvariantCulture), "/after"], timeoutSeconds: 60);
        Assert.True(h2.ExitCode == 0, h2.All + server.Log);
        Assert.Equal(
            ["settings enable_connect_protocol=0", "connect reset=1", "get status=200 body=plain http"],
            h2.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        server.WaitForLog("extended CONNECT (:protocol websocket) from 127.0.0.1 refused with RST_STREAM PROTOCOL_ERROR");
        Assert.DoesNotContain("Invalid request from", server.Log, StringComparison.Ordinal);

        // The worker goes on: HTTP/2 on a new connection, and the websocket over HTTP/1.1 as a browser opens it.
        var curl = ExternalTool.Curl("-k", "--http2", "-w", " %{http_version}", $"https://127.0.0.1:{port}/");
        Assert.Equal("plain http 2", curl.Stdout);
        using var client = WebSocketClient.Start(port, "wss", new Dictionary<string, string> { ["CA"] = certs.CaCert });
        client.WaitForExit(120);
        Assert.Contains("wss over tls", client.Lines);
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wsgi_worker_over_h2_does_not_advertise_extended_connect_either()
    {
        using var certs = new TestCertificates();
        var port = UnicornServer.FreePort();
        using var server = Http2ServerFixture.Start(certs, port, "--http-protocols", "h2,h1", "-k", "gthread", "--threads", "4");

        var h2 = ExternalTool.Run("/usr/bin/python3", [Client, port.ToString(CultureInfo.InvariantCulture), "/"], timeoutSeconds: 60);
        Assert.True(h2.ExitCode == 0, h2.All + server.Log);
        var lines = h2.Stdout.Split('\n');
        Assert.Equal("settings enable_connect_protocol=0", lines[0]);
        Assert.Equal("connect reset=1", lines[1]);
        Assert.StartsWith("get status=200 body=Hello, World!", lines[2], StringComparison.Ordinal);
    }

    // A classic CONNECT reaches the app as over HTTP/1.1 (Gunicorn 26.1 ends the whole connection with GOAWAY
    // PROTOCOL_ERROR). A 2xx answer to CONNECT may carry no Content-Length (RFC 9110 §9.3.6), which Kestrel enforces by
    // throwing: the app's own Content-Length is left out, as a 204's is, and the body goes out as the stream's DATA,
    // instead of an INTERNAL_ERROR reset and two error lines quoting .NET exceptions.
    [Fact]
    public void A_classic_connect_is_answered_by_the_app_without_its_content_length()
    {
        using var certs = new TestCertificates();
        var port = UnicornServer.FreePort();
        using var server = Http2ServerFixture.Start(certs, port, "--http-protocols", "h2,h1", "-k", "gthread", "--threads", "2");

        var h2 = ExternalTool.Run("/usr/bin/python3", [Client, port.ToString(CultureInfo.InvariantCulture), "/", "classic"], timeoutSeconds: 60);
        Assert.True(h2.ExitCode == 0, h2.All + server.Log);
        // Each body ends with a line break of its own.
        Assert.Contains("\nconnect status=200 body=Hello, World!\n\nget status=200 body=Hello, World!", h2.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("[ERROR]", server.Log, StringComparison.Ordinal);
    }
}
