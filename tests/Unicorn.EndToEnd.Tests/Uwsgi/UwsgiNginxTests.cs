using System.Text.Json;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Uwsgi;

/// <summary>Unicorn with <c>protocol = uwsgi</c> behind a real nginx's <c>uwsgi_pass</c> (see <see cref="UwsgiNginxFixture"/>).</summary>
public sealed class UwsgiNginxTests(UwsgiNginxFixture fixture) : IClassFixture<UwsgiNginxFixture>
{
    private Nginx.NginxProcess Nginx => fixture.Nginx!;

    private ExternalTool.Result Curl(params string[] args) =>
        ExternalTool.Curl(["--cacert", fixture.Certificates.CaCert, "--resolve", $"localhost:{Nginx.Port}:127.0.0.1", .. args]);

    private string Url(string path) => $"https://localhost:{Nginx.Port}{path}";

    private string Logs => "\nnginx:\n" + Nginx.ErrorLog + "\nsync:\n" + fixture.Sync!.Log + "\ngthread:\n" + fixture.Threaded!.Log;

    private JsonElement Echo(params string[] args)
    {
        var result = Curl(args);
        Assert.True(result.ExitCode == 0, result.All + Logs);
        using var doc = JsonDocument.Parse(result.Stdout);
        return doc.RootElement.Clone();
    }

    [Theory]
    [InlineData("tcp")]
    [InlineData("unix")]
    public void The_request_nginx_received_reaches_the_app(string upstream)
    {
        var echo = Echo("-H", "X-Custom-Thing: yes", "--data-binary", "hello=world", Url($"/{upstream}/a%20b/c%25d?x=1&y=%41"));
        Assert.Equal("POST", echo.GetProperty("REQUEST_METHOD").GetString());
        Assert.Equal($"/{upstream}/a b/c%d", echo.GetProperty("PATH_INFO").GetString());
        Assert.Equal("x=1&y=%41", echo.GetProperty("QUERY_STRING").GetString());
        Assert.Equal($"/{upstream}/a%20b/c%25d?x=1&y=%41", echo.GetProperty("RAW_URI").GetString());
        Assert.Equal("hello=world", echo.GetProperty("body").GetString());
        Assert.Equal("11", echo.GetProperty("CONTENT_LENGTH").GetString());
        Assert.Equal("application/x-www-form-urlencoded", echo.GetProperty("CONTENT_TYPE").GetString());
        Assert.Equal("yes", echo.GetProperty("headers").GetProperty("HTTP_X_CUSTOM_THING").GetString());
        Assert.Equal("https", echo.GetProperty("wsgi.url_scheme").GetString());
        Assert.Equal("HTTP/1.1", echo.GetProperty("SERVER_PROTOCOL").GetString());
        Assert.Equal("localhost", echo.GetProperty("SERVER_NAME").GetString());
        Assert.Equal(Nginx.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), echo.GetProperty("SERVER_PORT").GetString());
        Assert.Equal("127.0.0.1", echo.GetProperty("REMOTE_ADDR").GetString());
        Assert.True(echo.GetProperty("early_hints").GetBoolean());
    }

    [Fact]
    public void A_get_without_a_body_has_no_content_headers()
    {
        var echo = Echo(Url("/tcp/plain"));
        Assert.Equal("GET", echo.GetProperty("REQUEST_METHOD").GetString());
        Assert.Equal(0, echo.GetProperty("body_length").GetInt32());
        Assert.Equal(JsonValueKind.Null, echo.GetProperty("CONTENT_LENGTH").ValueKind);
    }

    [Fact]
    public void A_large_upload_streams_through()
    {
        var file = fixture.Certificates.Path("upload.bin");
        File.WriteAllBytes(file, Enumerable.Range(0, 3 << 20).Select(i => (byte)('a' + i % 26)).ToArray());
        var echo = Echo("--data-binary", "@" + file, Url("/unix/upload"));
        Assert.Equal(3 << 20, echo.GetProperty("body_length").GetInt32());
    }

    [Theory]
    [InlineData("tcp")]
    [InlineData("unix")]
    public void A_response_without_content_length_arrives_whole(string upstream)
    {
        // Unicorn ends it by closing the connection; nginx, which decodes no chunked coding from uwsgi, re-frames it.
        var result = Curl("-i", Url($"/{upstream}/stream"));
        Assert.True(result.ExitCode == 0, result.All + Logs);
        Assert.StartsWith("HTTP/1.1 200 OK", result.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\npart1,part2,part3", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Head_and_many_sequential_requests_all_succeed()
    {
        var head = Curl("-I", Url("/tcp/stream"));
        Assert.True(head.ExitCode == 0, head.All + Logs);
        Assert.StartsWith("HTTP/1.1 200 OK", head.Stdout, StringComparison.Ordinal);

        var urls = Enumerable.Range(0, 40).SelectMany(i => new[] { "-o", "/dev/null", Url(i % 2 == 0 ? $"/tcp/n{i}" : $"/unix/stream?{i}") });
        var result = Curl(["-w", "%{http_code}\\n", .. urls]);
        Assert.True(result.ExitCode == 0, result.All + Logs);
        var codes = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(40, codes.Length);
        Assert.All(codes, c => Assert.Equal("200", c));
        Assert.DoesNotContain("[error]", Nginx.ErrorLog, StringComparison.Ordinal);
    }

    [Fact]
    public void The_access_log_names_the_client_nginx_served()
    {
        Echo(Url("/tcp/logged?q=1"));
        fixture.Sync!.WaitForLog("/tcp/logged?q=1");
        var line = fixture.Sync.Lines.Last(l => l.Contains("/tcp/logged?q=1", StringComparison.Ordinal));
        Assert.StartsWith("127.0.0.1 ", line, StringComparison.Ordinal);
        Assert.Contains("\"GET /tcp/logged?q=1 HTTP/1.1\" 200", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Nginx_outside_uwsgi_allow_ips_is_refused_with_403()
    {
        var result = Curl("-o", "/dev/null", "-w", "%{http_code}", Url("/refusing/x"));
        Assert.Equal("403", result.Stdout);
        fixture.Refusing!.WaitForLog("Invalid uwsgi request from ip=127.0.0.1: uWSGI request from '127.0.0.1' not allowed");
    }
}
