using System.Text.Json;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Nginx;

/// <summary>
/// Unicorn behind a real nginx (see <see cref="NginxFixture"/>): forwarded scheme, Host and client address, and
/// kept-alive upstream connections.
/// </summary>
public sealed class NginxTests(NginxFixture fixture) : IClassFixture<NginxFixture>
{
    private NginxProcess Nginx => fixture.Nginx!;

    private JsonElement Environ(string upstream)
    {
        var result = ExternalTool.Curl("--cacert", fixture.Certificates.CaCert, "-H", "X-Forwarded-For: 203.0.113.9",
            $"https://localhost:{Nginx.Port}/{upstream}/environ", "--resolve", $"localhost:{Nginx.Port}:127.0.0.1");
        Assert.True(result.ExitCode == 0, result.All + "\nnginx:\n" + Nginx.ErrorLog + "\nunicorn:\n" + fixture.Untrusting!.Log);
        using var doc = JsonDocument.Parse(result.Stdout);
        return doc.RootElement.Clone();
    }

    [Fact]
    public void Over_the_unix_socket_the_forwarded_scheme_host_and_client_reach_the_app()
    {
        var environ = Environ("unix");
        Assert.Equal("https", environ.GetProperty("wsgi.url_scheme").GetString());
        Assert.Equal("https", environ.GetProperty("HTTP_X_FORWARDED_PROTO").GetString());
        Assert.Equal($"localhost:{Nginx.Port}", environ.GetProperty("HTTP_HOST").GetString());
        Assert.Equal("localhost", environ.GetProperty("SERVER_NAME").GetString());
        Assert.Equal(Nginx.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), environ.GetProperty("SERVER_PORT").GetString());
        Assert.Equal("203.0.113.9, 127.0.0.1", environ.GetProperty("HTTP_X_FORWARDED_FOR").GetString());
    }

    [Fact]
    public void Over_tcp_from_a_peer_not_in_forwarded_allow_ips_the_scheme_stays_http()
    {
        var environ = Environ("tcp");
        Assert.Equal("http", environ.GetProperty("wsgi.url_scheme").GetString());
        Assert.Equal("127.0.0.1", environ.GetProperty("REMOTE_ADDR").GetString());
    }

    [Fact]
    public void Over_tcp_from_a_peer_in_forwarded_allow_ips_the_forwarded_scheme_is_believed()
    {
        var environ = Environ("trusted");
        Assert.Equal("https", environ.GetProperty("wsgi.url_scheme").GetString());
        Assert.Equal("127.0.0.1", environ.GetProperty("REMOTE_ADDR").GetString());
    }

    [Theory]
    [InlineData("unix")]
    [InlineData("tcp")]
    public void Every_request_over_kept_alive_upstream_connections_succeeds(string upstream)
    {
        // One curl process, 60 requests: nginx keeps upstream connections open (keepalive 8) and reuses them.
        var urls = Enumerable.Range(0, 60).SelectMany(i => new[] { "-o", "/dev/null", $"https://localhost:{Nginx.Port}/{upstream}/stream?n={i % 7}" });
        var result = ExternalTool.Curl(["--cacert", fixture.Certificates.CaCert, "--resolve", $"localhost:{Nginx.Port}:127.0.0.1", "-w", "%{http_code}\\n", .. urls]);
        Assert.True(result.ExitCode == 0, result.All);
        var codes = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(60, codes.Length);
        Assert.All(codes, c => Assert.Equal("200", c));

        if (upstream == "tcp")
        {
            // Upstream connections were reused: far fewer distinct client ports than requests.
            var ports = Enumerable.Range(0, 20).Select(_ => Environ("tcp").GetProperty("REMOTE_PORT").GetString()).Distinct().Count();
            Assert.True(ports < 5, $"{ports} upstream connections for 20 sequential requests");
        }

        Assert.DoesNotContain("upstream prematurely closed", Nginx.ErrorLog, StringComparison.Ordinal);
        Assert.DoesNotContain("[error]", Nginx.ErrorLog, StringComparison.Ordinal);
    }
}
