using System.Text;
using System.Text.Json;
using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Core;

namespace Unicorn.EndToEnd.Tests.Frameworks;

/// <summary>Flask as deployed (pyfixtures/flask_deploy.py): JSON both ways, a generator streamed chunked, send_file.</summary>
public sealed class FlaskTests : IDisposable
{
    private const string Close = "Connection: close\r\n";
    private readonly int _port = UnicornServer.FreePort();
    private readonly UnicornServer _server;

    public FlaskTests()
    {
        _server = UnicornServer.Start("pyfixtures.flask_deploy:app", "-b", $"127.0.0.1:{_port}");
        _server.WaitUntilResponding(_port, "/json");
    }

    [Fact]
    public void Json_in_and_out()
    {
        const string Body = "{\"answer\": 42, \"name\": \"\u00e9t\u00e9\"}";
        var bytes = Encoding.UTF8.GetByteCount(Body);
        var response = RawHttp.Send(_port,
            $"POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {bytes}\r\n{Close}\r\n" +
            Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(Body)));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.Contains("Content-Type: application/json", response, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(Encoding.UTF8.GetBytes(RawHttp.Body(response)));
        Assert.Equal("POST", json.RootElement.GetProperty("method").GetString());
        Assert.Equal(42, json.RootElement.GetProperty("got").GetProperty("answer").GetInt32());
        Assert.Equal("\u00e9t\u00e9", json.RootElement.GetProperty("got").GetProperty("name").GetString());
        Assert.Equal("http", json.RootElement.GetProperty("scheme").GetString());
    }

    [Fact]
    public void A_generator_response_is_chunked_on_the_wire_and_close_delimited_for_http10()
    {
        var response = RawHttp.Send(_port, $"GET /stream?n=50 HTTP/1.1\r\nHost: x\r\n{Close}\r\n");
        var head = response[..response.IndexOf("\r\n\r\n", StringComparison.Ordinal)];
        Assert.Contains("Transfer-Encoding: chunked", head, StringComparison.Ordinal);
        Assert.DoesNotContain("Content-Length", head, StringComparison.Ordinal);
        var expected = string.Concat(Enumerable.Range(0, 50).Select(i => $"line {i}\n"));
        Assert.Equal(expected, RawHttp.Body(response));
        Assert.EndsWith("\r\n0\r\n\r\n", response, StringComparison.Ordinal);

        var http10 = RawHttp.Send(_port, "GET /stream?n=3 HTTP/1.0\r\nHost: x\r\n\r\n");
        Assert.DoesNotContain("Transfer-Encoding", http10, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nline 0\nline 1\nline 2\n", http10, StringComparison.Ordinal);
    }

    [Fact]
    public void Send_file_goes_through_wsgi_file_wrapper_and_sendfile_and_arrives_intact()
    {
        var path = Path.Combine(Path.GetTempPath(), $"unicorn-flask-{Guid.NewGuid():N}.bin");
        var bytes = new byte[700_001];
        new Random(3).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        try
        {
            using var trace = new SendfileTrace(Assert.Single(_server.Workers()));
            var response = RawHttp.Send(_port, Encoding.Latin1.GetBytes($"GET /file?path={Uri.EscapeDataString(path)} HTTP/1.1\r\nHost: x\r\n{Close}\r\n"));
            var calls = trace.Stop();
            Assert.True(calls.Count > 0, "no sendfile(2) call for a file_wrapper body on a plain connection");
            var split = response.AsSpan().IndexOf("\r\n\r\n"u8);
            var head = Encoding.Latin1.GetString(response, 0, split);
            Assert.Contains("X-File-Wrapper: _unicorn_bridge.FileWrapper", head, StringComparison.Ordinal);
            Assert.Contains($"Content-Length: {bytes.Length}", head, StringComparison.Ordinal);
            Assert.Equal(bytes, response[(split + 4)..]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public void Dispose() => _server.Dispose();
}
