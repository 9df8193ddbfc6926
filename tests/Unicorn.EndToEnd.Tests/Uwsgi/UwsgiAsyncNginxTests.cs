using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Uwsgi;

/// <summary>
/// <c>protocol = uwsgi</c> on the async worker classes (gevent, eventlet, tornado, asgi) behind a real nginx's
/// <c>uwsgi_pass</c> (<see cref="UwsgiAsyncNginxFixture"/>), as <see cref="UwsgiNginxTests"/> does for sync and gthread.
/// </summary>
public sealed class UwsgiAsyncNginxTests(UwsgiAsyncNginxFixture fixture) : IClassFixture<UwsgiAsyncNginxFixture>
{
    public static TheoryData<string> Classes => [.. UwsgiAsyncNginxFixture.Classes];

    private Nginx.NginxProcess Nginx => fixture.Nginx!;

    private ExternalTool.Result Curl(params string[] args) =>
        ExternalTool.Curl(["--cacert", fixture.Certificates.CaCert, "--resolve", $"localhost:{Nginx.Port}:127.0.0.1", .. args]);

    private string Url(string path) => $"https://localhost:{Nginx.Port}{path}";

    private string Logs(string workerClass) => "\nnginx:\n" + Nginx.ErrorLog + $"\n{workerClass}:\n" + fixture.Server(workerClass).Log;

    private JsonElement Echo(string workerClass, params string[] args)
    {
        var result = Curl(args);
        Assert.True(result.ExitCode == 0, result.All + Logs(workerClass));
        try
        {
            using var doc = JsonDocument.Parse(result.Stdout);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            Assert.Fail(result.All + Logs(workerClass));
            throw;
        }
    }

    [Theory]
    [MemberData(nameof(Classes))]
    public void A_post_reaches_the_app_with_its_body_headers_and_query(string workerClass)
    {
        var echo = Echo(workerClass, "-H", "X-Custom-Thing: yes", "--data-binary", "hello=world", Url($"/{workerClass}/form?x=1&y=2"));

        Assert.Equal("POST", echo.GetProperty("method").GetString());
        Assert.Equal($"/{workerClass}/form", echo.GetProperty("path").GetString());
        Assert.Equal("x=1&y=2", echo.GetProperty("query").GetString());
        Assert.Equal("hello=world", echo.GetProperty("body").GetString());
        Assert.Equal("yes", echo.GetProperty("headers").GetProperty("x-custom-thing").GetString());
        Assert.Equal("https", echo.GetProperty("scheme").GetString());
        // The client nginx served, from the packet's REMOTE_ADDR (nginx itself connected from 127.0.0.2).
        Assert.Equal("127.0.0.1", echo.GetProperty("client").GetString());
        Assert.Contains(echo.GetProperty("version").GetString(), new[] { "HTTP/1.1", "1.1" });
    }

    [Theory]
    [MemberData(nameof(Classes))]
    public void A_get_has_no_body_and_a_large_upload_arrives_whole(string workerClass)
    {
        var get = Echo(workerClass, Url($"/{workerClass}/plain"));
        Assert.Equal("GET", get.GetProperty("method").GetString());
        Assert.Equal(0, get.GetProperty("body_length").GetInt32());

        var file = fixture.Certificates.Path($"upload-{workerClass}.bin");
        File.WriteAllBytes(file, Enumerable.Range(0, 3 << 20).Select(i => (byte)('a' + i % 26)).ToArray());
        var upload = Echo(workerClass, "--data-binary", "@" + file, Url($"/{workerClass}/upload"));
        Assert.Equal(3 << 20, upload.GetProperty("body_length").GetInt32());
    }

    [Theory]
    [MemberData(nameof(Classes))]
    public void A_response_without_content_length_arrives_whole(string workerClass)
    {
        var result = Curl("-i", Url($"/{workerClass}/stream"));
        Assert.True(result.ExitCode == 0, result.All + Logs(workerClass));
        Assert.StartsWith("HTTP/1.1 200 OK", result.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\npart1,part2,part3", result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Classes))]
    public void Many_sequential_requests_through_nginx_all_succeed(string workerClass)
    {
        // nginx's uwsgi module opens a connection per request and reads each response to its end.
        var urls = Enumerable.Range(0, 30).SelectMany(i => new[] { "-o", "/dev/null", Url(i % 2 == 0 ? $"/{workerClass}/n{i}" : $"/{workerClass}/stream?{i}") });
        var result = Curl(["-w", "%{http_code}\\n", .. urls]);
        Assert.True(result.ExitCode == 0, result.All + Logs(workerClass));
        var codes = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(30, codes.Length);
        Assert.All(codes, c => Assert.Equal("200", c));
        Assert.DoesNotContain("[error]", Nginx.ErrorLog, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Classes))]
    public async Task A_length_framed_response_keeps_the_uwsgi_connection_for_the_next_packet(string workerClass)
    {
        // What a front end that reuses uwsgi connections (uWSGI's own routers) does: packets back to back on one.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(UwsgiAsyncNginxFixture.AllowedPeer), 0));
        await socket.ConnectAsync(IPAddress.Loopback, fixture.Ports[workerClass]);
        using var stream = new NetworkStream(socket);
        stream.ReadTimeout = 30_000;

        foreach (var (path, body) in new[] { ("/one", ""), ("/two", "xyz") })
        {
            await stream.WriteAsync(Packet(path, body));
            var response = ReadResponse(stream);
            Assert.Contains(" 200 OK\r\n", response, StringComparison.Ordinal);
            Assert.Contains($"\"path\": \"{path}\"", response, StringComparison.Ordinal);
            Assert.Contains($"\"body_length\": {body.Length}", response, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Classes))]
    public void Nginx_outside_uwsgi_allow_ips_is_refused_with_403(string workerClass)
    {
        var result = Curl("-o", "/dev/null", "-w", "%{http_code}", Url($"/refused-{workerClass}/x"));
        Assert.Equal("403", result.Stdout);
        fixture.Server(workerClass).WaitForLog("Invalid uwsgi request from ip=127.0.0.1: uWSGI request from '127.0.0.1' not allowed");
        Assert.DoesNotContain("   at ", fixture.Server(workerClass).Log, StringComparison.Ordinal);
    }

    /// <summary>A request as nginx's uwsgi module frames it: modifier1 0, the vars block's length, the vars, the body.</summary>
    private static byte[] Packet(string path, string body)
    {
        (string, string)[] vars =
        [
            ("REQUEST_METHOD", body.Length > 0 ? "POST" : "GET"), ("PATH_INFO", path), ("REQUEST_URI", path), ("QUERY_STRING", ""),
            ("CONTENT_LENGTH", body.Length > 0 ? body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) : ""),
            ("CONTENT_TYPE", body.Length > 0 ? "text/plain" : ""), ("SERVER_PROTOCOL", "HTTP/1.1"), ("REQUEST_SCHEME", "http"),
            ("REMOTE_ADDR", "203.0.113.7"), ("REMOTE_PORT", "51234"), ("SERVER_NAME", "localhost"), ("SERVER_PORT", "80"),
            ("HTTP_HOST", "localhost"),
        ];
        var block = new MemoryStream();
        foreach (var (name, value) in vars)
        {
            foreach (var s in new[] { name, value })
            {
                var bytes = Encoding.Latin1.GetBytes(s);
                block.Write([(byte)bytes.Length, (byte)(bytes.Length >> 8)]);
                block.Write(bytes);
            }
        }

        var packet = new byte[4 + block.Length + body.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(packet.AsSpan(1), (ushort)block.Length);
        block.ToArray().CopyTo(packet, 4);
        Encoding.Latin1.GetBytes(body).CopyTo(packet, 4 + block.Length);
        return packet;
    }

    /// <summary>One response framed by its Content-Length (the connection stays open after it).</summary>
    private static string ReadResponse(NetworkStream stream)
    {
        var received = new List<byte>();
        var buffer = new byte[4096];
        while (true)
        {
            var text = Encoding.Latin1.GetString([.. received]);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                var length = text[..end].Split("\r\n").Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                    .Select(p => int.Parse(p[1].Trim(), System.Globalization.CultureInfo.InvariantCulture)).Single();
                if (received.Count >= end + 4 + length)
                {
                    return text;
                }
            }

            var n = stream.Read(buffer);
            Assert.True(n > 0, "the connection closed after: " + text);
            received.AddRange(buffer.AsSpan(0, n));
        }
    }
}
