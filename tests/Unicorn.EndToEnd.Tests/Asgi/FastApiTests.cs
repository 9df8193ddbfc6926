using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Core;

namespace Unicorn.EndToEnd.Tests.Asgi;

/// <summary>The asgi worker class under FastAPI: the tutorial's routes, the http scope, body and response streaming, disconnects.</summary>
public sealed class FastApiTests(FastApiServerFixture fixture) : IClassFixture<FastApiServerFixture>
{
    private const string Close = "Connection: close\r\n";
    private readonly int _port = fixture.Port;

    [Fact]
    public void Each_request_gets_an_access_log_line_as_under_wsgi()
    {
        Json("GET /items/7?q=logged HTTP/1.1\r\nHost: x\r\nUser-Agent: asgi-test\r\n" + Close + "\r\n");
        fixture.Server.WaitForLog("\"GET /items/7?q=logged HTTP/1.1\" 200 ");
        Assert.Contains(fixture.Server.Lines, l => l.Contains("/items/7?q=logged", StringComparison.Ordinal) && l.Contains("\"asgi-test\"", StringComparison.Ordinal));
    }

    [Fact]
    public void The_tutorial_routes_answer_with_their_json()
    {
        Assert.Equal("{\"message\":\"Hello World\"}", Json("GET / HTTP/1.1\r\nHost: x\r\n" + Close + "\r\n"));
        Assert.Equal("{\"item_id\":5,\"q\":\"x\"}", Json("GET /items/5?q=x HTTP/1.1\r\nHost: x\r\n" + Close + "\r\n"));
        const string Item = "{\"name\":\"Foo\",\"price\":35.4,\"tax\":3.2}";
        var created = Json($"POST /items/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {Item.Length}\r\n{Close}\r\n{Item}");
        using var doc = JsonDocument.Parse(created);
        Assert.Equal("Foo", doc.RootElement.GetProperty("name").GetString());
        Assert.Equal(38.6, doc.RootElement.GetProperty("price_with_tax").GetDouble(), 3);

        var invalid = RawHttp.Send(_port, $"POST /items/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n{Close}\r\n{{}}");
        Assert.StartsWith("HTTP/1.1 422 ", invalid, StringComparison.Ordinal);
    }

    [Fact]
    public void The_next_request_on_a_keep_alive_connection_does_not_wait_for_background_tasks()
    {
        // FastAPI's BackgroundTasks run after the response, inside the app's call: the connection is handed back once
        // the response is complete, as uvicorn does, so a client's next request is not held for the task's 4 s.
        using var client = new System.Net.Sockets.TcpClient("127.0.0.1", _port);
        var stream = client.GetStream();
        stream.ReadTimeout = 10_000;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        stream.Write(Encoding.ASCII.GetBytes("POST /send-notification/a@example.com HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
        Assert.Contains("Notification sent", ReadResponse(stream), StringComparison.Ordinal);
        stream.Write(Encoding.ASCII.GetBytes("GET /notified HTTP/1.1\r\nHost: x\r\n\r\n"));
        var next = ReadResponse(stream);
        clock.Stop();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"the next request waited {clock.Elapsed}");
        Assert.DoesNotContain("a@example.com", next, StringComparison.Ordinal); // the task still runs
        Assert.True(UnicornServer.Poll(() => UnicornServer.Get(_port, "/notified").Body.Contains("a@example.com", StringComparison.Ordinal), 10));
    }

    // One response off a keep-alive connection: its head, then Content-Length bytes of body.
    private static string ReadResponse(System.Net.Sockets.NetworkStream stream)
    {
        var bytes = new List<byte>();
        while (!Encoding.Latin1.GetString(bytes.ToArray()).Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var b = stream.ReadByte();
            Assert.NotEqual(-1, b);
            bytes.Add((byte)b);
        }

        var head = Encoding.Latin1.GetString(bytes.ToArray());
        var length = int.Parse(System.Text.RegularExpressions.Regex.Match(head, @"(?i)content-length: (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var body = new byte[length];
        stream.ReadExactly(body);
        return head + Encoding.Latin1.GetString(body);
    }

    [Fact]
    public void Lifespan_startup_ran_before_the_first_request()
    {
        Assert.Equal("{\"started\":[\"startup\"]}", Json("GET /started HTTP/1.1\r\nHost: x\r\n" + Close + "\r\n"));
    }

    [Fact]
    public void The_http_scope_carries_every_key()
    {
        using var doc = JsonDocument.Parse(Json("GET /scope?a=b%20c HTTP/1.0\r\nHost: example.org:8080\r\n\r\n"));
        var scope = doc.RootElement;
        Assert.Equal("/api", scope.GetProperty("root_path").GetString()); // --root-path
        Assert.Equal("/scope", scope.GetProperty("path").GetString());
        Assert.Equal("/scope", scope.GetProperty("raw_path").GetString());
        Assert.Equal("a=b%20c", scope.GetProperty("query_string").GetString());
        Assert.Equal("1.0", scope.GetProperty("http_version").GetString());
        Assert.Equal("http", scope.GetProperty("scheme").GetString());
        Assert.Equal("127.0.0.1", scope.GetProperty("client")[0].GetString());
        Assert.True(scope.GetProperty("client")[1].GetInt32() > 0);
        Assert.Equal("127.0.0.1", scope.GetProperty("server")[0].GetString()); // the listener's, as Gunicorn's and uvicorn's
        Assert.Equal(_port, scope.GetProperty("server")[1].GetInt32());
        Assert.Equal("3.0", scope.GetProperty("asgi").GetProperty("version").GetString());
        Assert.Contains("http.response.pathsend", scope.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Under_uvicorns_worker_class_a_trusted_proxys_x_forwarded_for_names_the_client_as_uvicorn_does()
    {
        // The fixture runs -k uvicorn.workers.UvicornWorker with the default forwarded_allow_ips (127.0.0.1, ::1).
        using var doc = JsonDocument.Parse(Json("GET /scope HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.1, 203.0.113.7, 127.0.0.1\r\n" + Close + "\r\n"));
        var client = doc.RootElement.GetProperty("client");
        Assert.Equal("203.0.113.7", client[0].GetString());
        Assert.Equal(0, client[1].GetInt32());
    }

    [Fact]
    public void A_large_chunked_body_reaches_the_app_as_a_stream_of_http_request_events()
    {
        const int Size = 3 * 1024 * 1024;
        var head = Encoding.ASCII.GetBytes("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + Close + "\r\n");
        var body = new MemoryStream();
        body.Write(head);
        for (var sent = 0; sent < Size; sent += 100_000)
        {
            var n = Math.Min(100_000, Size - sent);
            body.Write(Encoding.ASCII.GetBytes($"{n:x}\r\n"));
            body.Write(new byte[n]);
            body.Write("\r\n"u8);
        }

        body.Write("0\r\n\r\n"u8);
        var response = Encoding.Latin1.GetString(RawHttp.Send(_port, body.ToArray(), 60));
        using var doc = JsonDocument.Parse(RawHttp.Body(response));
        Assert.Equal(Size, doc.RootElement.GetProperty("bytes").GetInt32());
        var chunks = doc.RootElement.GetProperty("chunks").GetInt32();
        Assert.True(chunks > 1, "a body over 1 MiB streams in several events");
        // What has arrived goes in one event (up to 64 KiB), not one per 8 KiB socket read: 3 MiB was 390-400 events.
        Assert.True(chunks < Size / (16 * 1024), $"{chunks} events");
    }

    [Fact]
    public void Bad_chunked_framing_in_a_streamed_body_is_a_400_with_one_warning_not_a_500()
    {
        // Past 1 MiB the body streams; a chunk size that is not hex ends it in http.disconnect for the app, and the
        // client gets Gunicorn's 400 (Gunicorn's ASGI worker: 400 too), where it got a bare 500 with no log line.
        var request = new MemoryStream();
        request.Write(Encoding.ASCII.GetBytes("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
        for (var i = 0; i < 32; i++)
        {
            request.Write("10000\r\n"u8);
            request.Write(new byte[0x10000]);
            request.Write("\r\n"u8);
        }

        request.Write("zz\r\nabc\r\n0\r\n\r\n"u8);
        var response = Encoding.Latin1.GetString(RawHttp.Send(_port, request.ToArray(), 30));

        Assert.StartsWith("HTTP/1.1 400 Bad Request", response, StringComparison.Ordinal);
        fixture.Server.WaitForLog("Invalid request from ip=127.0.0.1: Invalid chunk size: 'zz'");
    }

    [Theory]
    [InlineData(1000)] // within one receive buffer of the connection
    [InlineData(300_000)] // across many: copied once, segment by segment, into the bytes object
    public void A_buffered_post_body_reaches_the_app_byte_exact_in_one_event(int size)
    {
        var payload = new byte[size];
        new Random(size).NextBytes(payload);
        var head = Encoding.ASCII.GetBytes($"POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n{Close}\r\n");
        var response = Encoding.Latin1.GetString(RawHttp.Send(_port, [.. head, .. payload], 60));
        using var doc = JsonDocument.Parse(RawHttp.Body(response));
        Assert.Equal(size, doc.RootElement.GetProperty("bytes").GetInt32());
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(payload)), doc.RootElement.GetProperty("sha256").GetString());
        Assert.Equal(1, doc.RootElement.GetProperty("events").GetInt32());
    }

    [Fact]
    public void A_streaming_response_and_server_sent_events_go_out_chunked()
    {
        var stream = RawHttp.Send(_port, "GET /stream?n=20 HTTP/1.1\r\nHost: x\r\n" + Close + "\r\n");
        Assert.Contains("Transfer-Encoding: chunked", stream, StringComparison.Ordinal);
        Assert.Equal(string.Concat(Enumerable.Range(0, 20).Select(i => $"line {i}\n")), RawHttp.Body(stream));

        var sse = RawHttp.Send(_port, "GET /sse?n=3 HTTP/1.1\r\nHost: x\r\n" + Close + "\r\n");
        Assert.Contains("content-type: text/event-stream", sse, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("data: event 0\n\ndata: event 1\n\ndata: event 2\n\n", RawHttp.Body(sse));
    }

    [Fact]
    public void A_client_that_leaves_mid_stream_is_seen_as_a_disconnect_and_the_app_stops()
    {
        var before = Disconnects();
        using (var client = new TcpClient("127.0.0.1", _port))
        {
            var stream = client.GetStream();
            stream.Write("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n"u8);
            var buffer = new byte[65536];
            var read = 0;
            while (read < 200_000)
            {
                var n = stream.Read(buffer);
                Assert.True(n > 0);
                read += n;
            }

            client.Client.LingerState = new LingerOption(true, 0); // reset: the next write fails at once
        }

        Assert.True(UnicornServer.Poll(() => Disconnects() > before, 30), "the streaming generator was not closed after the client left");
        // The worker serves on.
        Assert.Equal("{\"message\":\"Hello World\"}", Json("GET / HTTP/1.1\r\nHost: x\r\n" + Close + "\r\n"));
    }

    [Fact]
    public void A_producer_that_never_awaits_stops_once_the_client_has_left()
    {
        using (var client = new TcpClient("127.0.0.1", _port))
        {
            var stream = client.GetStream();
            stream.Write("GET /busy HTTP/1.1\r\nHost: x\r\n\r\n"u8);
            var buffer = new byte[65536];
            for (var read = 0; read < 1_000_000;)
            {
                var n = stream.Read(buffer);
                Assert.True(n > 0);
                read += n;
            }

            client.Client.LingerState = new LingerOption(true, 0);
        }

        // send() after the disconnect yields, so Starlette's disconnect listener cancels the response; it used to
        // return at once, and the generator ran all 200,000 chunks into the closed connection.
        var sent = BusySent();
        Assert.True(UnicornServer.Poll(() =>
        {
            var before = sent;
            sent = BusySent();
            return sent == before;
        }, 10), "the generator did not stop");
        Assert.InRange(sent, 16, 199_999); // the client read 16 chunks
    }

    private int BusySent()
    {
        using var doc = JsonDocument.Parse(Json("GET /busy-sent HTTP/1.1\r\nHost: x\r\n" + Close + "\r\n"));
        return doc.RootElement.GetProperty("sent").GetInt32();
    }

    private int Disconnects()
    {
        using var doc = JsonDocument.Parse(Json("GET /disconnects HTTP/1.1\r\nHost: x\r\n" + Close + "\r\n"));
        return doc.RootElement.GetProperty("disconnects").GetInt32();
    }

    private string Json(string request)
    {
        var response = RawHttp.Send(_port, request);
        Assert.StartsWith("HTTP/1.", response, StringComparison.Ordinal);
        Assert.Contains(" 200 OK\r\n", response[..response.IndexOf("\r\n", StringComparison.Ordinal)] + "\r\n", StringComparison.Ordinal);
        return RawHttp.Body(response);
    }
}
