using System.Diagnostics;
using System.Net.Http;
using System.Text;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.AsyncWorkers;

/// <summary>
/// -k tornado with Debian's python3-tornado, as Gunicorn's TornadoWorker: a tornado.web.Application (the "Hello, world"
/// of tornado's documentation) is served directly, with its coroutine handlers sharing one IOLoop; any other app is
/// WSGI, served through tornado's WSGIContainer (a Flask app here).
/// </summary>
public sealed class TornadoWorkerTests
{
    [Fact]
    public async Task The_hello_world_application_from_tornados_docs_is_served()
    {
        using var server = Start("pyfixtures.tornado_apps:app", "tornado", out var port);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };

        Assert.Equal("Hello, world", await client.GetStringAsync("/"));

        using var missing = await client.GetAsync("/nothere");
        Assert.Equal(404, (int)missing.StatusCode);
        Assert.Contains("404: Not Found", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The body reaches the handler parsed (a form field) and whole.
        using var form = new FormUrlEncodedContent([new("name", "bob"), new("pad", new string('x', 100_000))]);
        using var echoed = await client.PostAsync("/echo", form);
        Assert.Equal("bob 100013 ", await echoed.Content.ReadAsStringAsync()); // name=bob&pad=x...

        // flush() between writes streams the response in parts.
        using var streamed = await client.GetAsync("/stream");
        Assert.True(streamed.Headers.TransferEncodingChunked);
        Assert.Equal("part 0\npart 1\npart 2\npart 3\npart 4\n", await streamed.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_stream_request_body_handler_gets_the_upload_in_pieces()
    {
        using var server = Start("pyfixtures.tornado_apps:app", "tornado", out var port);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        var body = new byte[5 * 1024 * 1024];
        new Random(11).NextBytes(body);

        using var content = new ByteArrayContent(body);
        using var response = await client.PutAsync("/upload", content);
        var parts = (await response.Content.ReadAsStringAsync()).Split(' ');

        Assert.Equal(200, (int)response.StatusCode);
        Assert.True(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) > 1, "the body came in one piece: " + parts[0]);
        Assert.Equal(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), parts[1]);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body)), parts[2]);
    }

    [Fact]
    public async Task A_streaming_handler_hears_that_its_client_went_away()
    {
        // The asgi host's send drops writes to a client that is gone without raising; a handler awaiting flush() in
        // an event stream waited on it for ever (one leaked handler per client that left, never told).
        using var server = Start("pyfixtures.tornado_apps:app", "tornado", out var port);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };

        using (var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            await socket.ConnectAsync(System.Net.IPAddress.Loopback, port);
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
            var buffer = new byte[4096];
            var received = new StringBuilder();
            while (!received.ToString().Contains("data: 2", StringComparison.Ordinal))
            {
                var n = await socket.ReceiveAsync(buffer);
                Assert.True(n > 0, "the stream ended early: " + received);
                received.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }

            socket.LingerState = new System.Net.Sockets.LingerOption(true, 0); // the client leaves: a reset
        }

        Assert.Equal("StreamClosedError on_connection_close", await EndedAsync(client, "StreamClosedError on_connection_close"));
        Assert.DoesNotContain(server.Lines, l => l.Contains("Task was destroyed but it is pending", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_long_poll_that_has_written_nothing_hears_that_its_client_went_away()
    {
        // Tornado's chat demo waits for a message with nothing written; on_connection_close must end the wait when
        // the client leaves (it heard of it only once it wrote, which a quiet poll never does: one leaked handler per
        // client that left).
        using var server = Start("pyfixtures.tornado_apps:app", "tornado", out var port);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        using (var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            await socket.ConnectAsync(System.Net.IPAddress.Loopback, port);
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET /poll HTTP/1.1\r\nHost: x\r\n\r\n"));
            await Task.Delay(500);
        }

        Assert.Equal("poll-closed", await EndedAsync(client, "poll-closed"));
    }

    [Fact]
    public async Task A_websocket_handler_from_tornados_docs_echoes_and_closes()
    {
        // Gunicorn's tornado worker serves WebSocketHandler (tornado's HTTPServer); here the websocket scope was a 500.
        using var server = Start("pyfixtures.tornado_apps:app", "tornado", out var port);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using (var socket = new System.Net.WebSockets.ClientWebSocket())
        {
            await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/ws"), timeout.Token);
            await socket.SendAsync(Encoding.UTF8.GetBytes("héllo"), System.Net.WebSockets.WebSocketMessageType.Text, true, timeout.Token);
            Assert.Equal("{\"echo\": \"h\\u00e9llo\", \"path\": \"/ws\"}", await ReceiveText(socket, timeout.Token));
            await socket.SendAsync(new byte[] { 1, 2, 3 }, System.Net.WebSockets.WebSocketMessageType.Binary, true, timeout.Token);
            var buffer = new byte[16];
            var binary = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.Equal(System.Net.WebSockets.WebSocketMessageType.Binary, binary.MessageType);
            Assert.Equal(new byte[] { 3, 2, 1 }, buffer[..binary.Count]);

            // The handler closes with a code of its own; the client sees it.
            await socket.SendAsync(Encoding.UTF8.GetBytes("close"), System.Net.WebSockets.WebSocketMessageType.Text, true, timeout.Token);
            var closing = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.Equal(System.Net.WebSockets.WebSocketMessageType.Close, closing.MessageType);
            Assert.Equal(4001, (int)socket.CloseStatus!.Value);
            Assert.Equal("bye", socket.CloseStatusDescription);
            await socket.CloseOutputAsync(socket.CloseStatus.Value, "bye", timeout.Token); // the client's half of the handshake
        }

        // The client closes with a code and reason of its own: on_close sees them.
        using (var socket = new System.Net.WebSockets.ClientWebSocket())
        {
            await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/ws"), timeout.Token);
            await socket.CloseAsync((System.Net.WebSockets.WebSocketCloseStatus)4002, "done", timeout.Token);
        }

        Assert.Equal("ws-close:4001:bye ws-close:4002:done ws-open ws-open", await EndedAsync(client, "ws-close:4001:bye ws-close:4002:done ws-open ws-open"));

        // check_origin refusing is tornado's 403, an HTTP answer to the handshake.
        using var refused = new System.Net.WebSockets.ClientWebSocket();
        refused.Options.SetRequestHeader("Origin", "http://evil.example");
        refused.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(
            () => refused.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/ws"), timeout.Token));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.HttpStatusCode);
        Assert.DoesNotContain(server.Lines, l => l.Contains("ASGI application", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_reason_phrase_is_the_apps()
    {
        // tornado's set_status(code, reason) / HTTPError(reason=...), and a WSGI app's status line under WSGIContainer,
        // reach the client as under Gunicorn's tornado worker; they became the standard phrase.
        using (var server = Start("pyfixtures.tornado_apps:app", "tornado", out var port))
        {
            Assert.StartsWith("HTTP/1.1 400 Missing Widget\r\n", await RawGet(port, "/reason"), StringComparison.Ordinal);
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", await RawGet(port, "/"), StringComparison.Ordinal);
        }

        using (var server = Start("pyfixtures.tornado_apps:wsgi_app", "tornado", out var port))
        {
            Assert.StartsWith("HTTP/1.1 302 FOUND\r\n", await RawGet(port, "/found"), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("pyfixtures.tornado_apps:app", "/echo")]
    [InlineData("pyfixtures.tornado_apps:wsgi_app", "/")]
    public async Task A_declared_body_over_max_body_size_is_refused_before_it_is_read(string app, string path)
    {
        // Tornado's server refuses a Content-Length over max_body_size (100 MB) on the head; here the worker read
        // (and the client had to send) the first 100 MB before the 413.
        using var server = Start(app, "tornado", out var port);
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(System.Net.IPAddress.Loopback, port);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n\r\nname=x"));
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var n = await socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, timeout.Token);
        Assert.StartsWith("HTTP/1.1 413 ", Encoding.ASCII.GetString(buffer, 0, n), StringComparison.Ordinal);
    }

    private static async Task<string> RawGet(int port, string path)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(System.Net.IPAddress.Loopback, port);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        var received = new StringBuilder();
        var buffer = new byte[4096];
        int n;
        while ((n = await socket.ReceiveAsync(buffer)) > 0)
        {
            received.Append(Encoding.Latin1.GetString(buffer, 0, n));
        }

        return received.ToString();
    }

    private static async Task<string> ReceiveText(System.Net.WebSockets.ClientWebSocket socket, CancellationToken cancel)
    {
        var buffer = new byte[4096];
        var result = await socket.ReceiveAsync(buffer, cancel);
        Assert.Equal(System.Net.WebSockets.WebSocketMessageType.Text, result.MessageType);
        Assert.True(result.EndOfMessage);
        return Encoding.UTF8.GetString(buffer, 0, result.Count);
    }

    [Fact]
    public async Task Coroutine_handlers_wait_together_on_one_ioloop()
    {
        using var server = Start("pyfixtures.tornado_apps:app", "gunicorn.workers.gtornado.TornadoWorker", out var port);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(120) };

        // A hundred handlers each awaiting asyncio.sleep(2): 200 s one after another, about 2 s together.
        var clock = Stopwatch.StartNew();
        var bodies = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => client.GetStringAsync("/sleep?s=2")));
        clock.Stop();

        Assert.All(bodies, b => Assert.Equal("slept 127.0.0.1", b));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_wsgi_app_is_served_through_WSGIContainer()
    {
        using var server = Start("pyfixtures.flask_app:app", "tornado", out var port, "/hello/probe");
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };

        Assert.Equal("Hello ann from x", await client.GetStringAsync("/hello/ann?via=x"));
        var body = new string('b', 300_000);
        using var content = new StringContent(body, Encoding.ASCII);
        using var echoed = await client.PostAsync("/echo", content);
        Assert.Equal(body, await echoed.Content.ReadAsStringAsync());
        using var missing = await client.GetAsync("/nothere");
        Assert.Equal(404, (int)missing.StatusCode);
    }

    [Fact]
    public async Task A_header_that_cannot_be_encoded_is_a_500_and_tornados_own_error_line()
    {
        using var server = Start("pyfixtures.tornado_apps:app", "tornado", out var port);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };

        using var failed = await client.GetAsync("/nonlatin");
        Assert.Equal(500, (int)failed.StatusCode);
        Assert.DoesNotContain("never sent", await failed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        server.WaitForLog("Uncaught exception GET /nonlatin (127.0.0.1)");
        Assert.Contains(server.Lines, l => l.Contains("UnicodeEncodeError", StringComparison.Ordinal));
        // Not the symptom the server saw afterwards (a body with no head), which named ASGI and hid the cause.
        Assert.DoesNotContain(server.Lines, l => l.Contains("Response not started", StringComparison.Ordinal));
        Assert.Equal("Hello, world", await client.GetStringAsync("/"));
    }

    [Fact]
    public async Task A_wsgi_app_that_raises_is_a_logged_500_and_the_worker_goes_on()
    {
        using var server = Start("pyfixtures.tornado_apps:wsgi_app", "tornado", out var port);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };

        using var failed = await client.GetAsync("/boom");
        Assert.Equal(500, (int)failed.StatusCode);
        server.WaitForLog("Uncaught exception GET /boom (127.0.0.1)");
        Assert.Contains(server.Lines, l => l.Contains("ValueError: wsgi boom", StringComparison.Ordinal));
        Assert.Equal("ok http 127.0.0.1", await client.GetStringAsync("/"));
    }

    [Fact]
    public async Task Graceful_stop_lets_running_handlers_finish()
    {
        using var server = Start("pyfixtures.tornado_apps:app", "tornado", out var port);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };

        var running = Enumerable.Range(0, 10).Select(_ => client.GetStringAsync("/sleep?s=3")).ToArray();
        await Task.Delay(1000); // all ten are awaiting their sleep on the IOLoop
        server.Signal(UnicornServer.SIGTERM);

        Assert.All(await Task.WhenAll(running), b => Assert.Equal("slept 127.0.0.1", b));
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void Request_hooks_are_refused_in_one_line_as_the_tornado_worker_never_runs_them()
    {
        var dir = Directory.CreateTempSubdirectory("unicorn-tornado-hooks-");
        try
        {
            var config = Path.Combine(dir.FullName, "gunicorn.conf.py");
            File.WriteAllText(config, "def pre_request(worker, req):\n    worker.log.info('pre_request ran')\n");
            var port = UnicornServer.FreePort();
            using var server = UnicornServer.Start("pyfixtures.tornado_apps:app", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", "tornado",
                "--no-control-socket", "-c", config);

            Assert.NotEqual(0, server.WaitForExit(90));
            Assert.Contains(server.Lines, l => l.Contains("pre_request, post_request and spew are not supported with the tornado worker class", StringComparison.Ordinal));
            Assert.DoesNotContain(server.Lines, l => l.Contains("   at ", StringComparison.Ordinal)); // no .NET stack trace
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Without_tornado_the_worker_fails_to_boot_with_gunicorns_line()
    {
        // A tornado package that cannot be imported, first on sys.path: as if python3-tornado were not installed.
        var dir = Directory.CreateTempSubdirectory("unicorn-no-tornado-");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir.FullName, "tornado"));
            File.WriteAllText(Path.Combine(dir.FullName, "tornado", "__init__.py"), "raise ImportError(\"No module named 'tornado'\")\n");
            var port = UnicornServer.FreePort();
            using var server = UnicornServer.Start("pyfixtures.flask_app:app", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", "tornado",
                "--no-control-socket", "--pythonpath", dir.FullName);

            Assert.NotEqual(0, server.WaitForExit(90));
            Assert.Contains(server.Lines, l => l.Contains("You need tornado installed to use this worker.", StringComparison.Ordinal));
            Assert.DoesNotContain(server.Lines, l => l.Contains("   at ", StringComparison.Ordinal)); // no .NET stack trace
        }
        finally
        {
            dir.Delete(true);
        }
    }

    private static UnicornServer Start(string app, string workerClass, out int port, string probe = "/")
    {
        port = UnicornServer.FreePort();
        var server = UnicornServer.Start(app, "-b", $"127.0.0.1:{port}", "-w", "1", "-k", workerClass, "--no-control-socket");
        try
        {
            server.WaitUntilResponding(port, probe, 120);
        }
        catch
        {
            server.Dispose(); // the caller's using never sees it
            throw;
        }

        return server;
    }

    // What the app's handlers recorded as they ended (/events/ended), once it reads as expected or 10 s have passed.
    private static async Task<string> EndedAsync(HttpClient client, string expected)
    {
        var ended = "-";
        for (var i = 0; i < 100 && ended != expected; i++)
        {
            await Task.Delay(100);
            ended = await client.GetStringAsync("/events/ended");
        }

        return ended;
    }
}
