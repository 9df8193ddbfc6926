using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>The worker over real loopback sockets with a fake app: framing, keep-alive, bodies.</summary>
public class WorkerTests
{
    private static void Hello(WsgiRequest request, IResponseSink response)
    {
        response.SetResponse("200 OK", [new("Content-Type", "text/plain"), new("Content-Length", "13")]);
        response.Write("Hello, World!"u8);
    }

    private static void Echo(WsgiRequest request, IResponseSink response)
    {
        var body = Encoding.Latin1.GetBytes(FakeApp.ReadBody(request.Body));
        response.SetResponse("200 OK", [new("Content-Length", body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        response.Write(body);
    }

    [Fact]
    public async Task A_listener_closed_under_a_pending_accept_ends_its_accept_loop_quietly()
    {
        // A stop that closes the socket before the accept loop saw its cancellation: accept(2) fails with
        // ECANCELED, which used to fault the worker's run (a flaky test shutdown, and a stack trace in the log).
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        listener.Listen(16);
        var port = ((System.Net.IPEndPoint)listener.LocalEndPoint!).Port;
        var settings = TestSettings.Defaults();
        settings.Set("threads", 2);
        var worker = new Worker(settings, [listener], new FakeApp(Hello), new StderrErrorLog(LogLevel.Debug, TextWriter.Null));
        var run = worker.RunAsync();
        using (var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await s.ConnectAsync(System.Net.IPAddress.Loopback, port);
            await s.SendAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", await WorkerHarness.ReadUntilClosedAsync(s, TimeSpan.FromSeconds(10)), StringComparison.Ordinal);
        }

        listener.Dispose();
        await Task.Delay(100);
        worker.StopNow();
        await run.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Serves_a_request_with_server_and_date_headers()
    {
        await using var h = new WorkerHarness(Hello);
        var response = await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.Contains("\r\nServer: unicorn\r\n", response, StringComparison.Ordinal);
        Assert.Matches(@"\r\nDate: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n", response);
        Assert.Contains("\r\nConnection: close\r\n", response, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nHello, World!", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keeps_the_connection_alive_and_answers_pipelined_requests_in_order()
    {
        await using var h = new WorkerHarness((req, resp) =>
        {
            var body = Encoding.ASCII.GetBytes(req.Path);
            resp.SetResponse("200 OK", [new("Content-Length", body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
            resp.Write(body);
        });
        using var s = await h.ConnectAsync();
        await s.SendAsync(Encoding.ASCII.GetBytes("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n"));
        var responses = await WorkerHarness.ReadResponsesAsync(s, 3);
        Assert.Equal(3, responses.Count);
        Assert.EndsWith("/a", responses[0], StringComparison.Ordinal);
        Assert.EndsWith("/b", responses[1], StringComparison.Ordinal);
        Assert.EndsWith("/c", responses[2], StringComparison.Ordinal);
        Assert.All(responses, r => Assert.Contains("Connection: keep-alive", r, StringComparison.Ordinal));

        await s.SendAsync(Encoding.ASCII.GetBytes("GET /d HTTP/1.1\r\nHost: x\r\n\r\n"));
        var more = await WorkerHarness.ReadResponsesAsync(s, 1);
        Assert.EndsWith("/d", Assert.Single(more), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Closes_an_idle_keep_alive_connection_after_the_keepalive_time()
    {
        await using var h = new WorkerHarness(Hello, s => s.Set("keepalive", 1));
        using var s = await h.ConnectAsync();
        await s.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        var all = await WorkerHarness.ReadUntilClosedAsync(s, TimeSpan.FromSeconds(5));
        Assert.StartsWith("HTTP/1.1 200 OK", all, StringComparison.Ordinal);
        Assert.EndsWith("Hello, World!", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reads_content_length_and_chunked_bodies_with_trailers()
    {
        await using var h = new WorkerHarness(Echo);
        var fixedLength = await h.ExchangeAsync("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        Assert.EndsWith("\r\n\r\nhello", fixedLength, StringComparison.Ordinal);
        var chunked = await h.ExchangeAsync("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
        Assert.EndsWith("\r\n\r\nhello world", chunked, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streams_a_body_larger_than_the_buffered_limit()
    {
        await using var h = new WorkerHarness(Echo);
        var payload = new string('x', 3 * 1024 * 1024 + 7);
        var response = await h.ExchangeAsync($"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {payload.Length}\r\nConnection: close\r\n\r\n{payload}", TimeSpan.FromSeconds(20));
        Assert.Contains($"Content-Length: {payload.Length}\r\n", response, StringComparison.Ordinal);
        Assert.EndsWith(payload, response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Answers_expect_100_continue_before_the_body()
    {
        await using var h = new WorkerHarness(Echo);
        using var s = await h.ConnectAsync();
        await s.SendAsync(Encoding.ASCII.GetBytes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"));
        var buffer = new byte[100];
        var n = await s.ReceiveAsync(buffer, SocketFlags.None);
        Assert.Equal("HTTP/1.1 100 Continue\r\n\r\n", Encoding.ASCII.GetString(buffer, 0, n));
        await s.SendAsync("ping"u8.ToArray());
        var rest = await WorkerHarness.ReadUntilClosedAsync(s, TimeSpan.FromSeconds(5));
        Assert.EndsWith("\r\n\r\nping", rest, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chunks_a_response_without_length_on_http11_and_closes_on_http10()
    {
        static void NoLength(WsgiRequest req, IResponseSink resp)
        {
            resp.SetResponse("200 OK", [new("Content-Type", "text/plain")]);
            resp.Write("abc"u8);
            resp.Flush();
            resp.Write("defgh"u8);
        }

        await using var h = new WorkerHarness(NoLength);
        var http11 = await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.Contains("Transfer-Encoding: chunked\r\n", http11, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n", http11, StringComparison.Ordinal);

        var http10 = await h.ExchangeAsync("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        Assert.StartsWith("HTTP/1.0 200 OK", http10, StringComparison.Ordinal);
        Assert.DoesNotContain("Transfer-Encoding", http10, StringComparison.Ordinal);
        Assert.Contains("Connection: close\r\n", http10, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nabcdefgh", http10, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streamed_items_written_and_flushed_at_once_keep_their_framing()
    {
        static void Streamed(WsgiRequest req, IResponseSink resp)
        {
            var length = req.Path == "/length";
            resp.SetResponse("200 OK", length ? [new("Content-Length", "10")] : [new("Content-Type", "text/plain")]);
            resp.WriteAndFlush("abc"u8);
            resp.WriteAndFlush(""u8); // an empty item is no chunk: it would end the body
            resp.WriteAndFlush("defgh"u8);
            resp.WriteAndFlush("ijklmnop"u8); // past Content-Length: only "ij" goes out
        }

        await using var h = new WorkerHarness(Streamed);
        var chunked = await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.EndsWith("\r\n\r\n3\r\nabc\r\n5\r\ndefgh\r\n8\r\nijklmnop\r\n0\r\n\r\n", chunked, StringComparison.Ordinal);

        var sized = await h.ExchangeAsync("GET /length HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.EndsWith("\r\n\r\nabcdefghij", sized, StringComparison.Ordinal);
        var head = await h.ExchangeAsync("HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.EndsWith("\r\n\r\n", head, StringComparison.Ordinal);
        Assert.DoesNotContain("abc", head, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("HEAD", "200 OK")]
    [InlineData("GET", "204 No Content")]
    [InlineData("GET", "304 Not Modified")]
    public async Task Sends_no_body_for_head_204_and_304(string method, string status)
    {
        await using var h = new WorkerHarness((req, resp) =>
        {
            resp.SetResponse(status, [new("Content-Length", "5")]);
            resp.Write("hello"u8);
        });
        var response = await h.ExchangeAsync($"{method} / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith($"HTTP/1.1 {status}\r\n", response, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Truncates_output_beyond_content_length_and_drops_hop_by_hop_headers()
    {
        await using var h = new WorkerHarness((req, resp) =>
        {
            resp.SetResponse("200 OK", [new("Content-Length", "3"), new("Keep-Alive", "timeout=99"), new("Transfer-Encoding", "gzip"), new("X-Kept", "yes")]);
            resp.Write("abcdef"u8);
        });
        var response = await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.EndsWith("\r\n\r\nabc", response, StringComparison.Ordinal);
        Assert.DoesNotContain("timeout=99", response, StringComparison.Ordinal);
        Assert.DoesNotContain("gzip", response, StringComparison.Ordinal);
        Assert.Contains("X-Kept: yes\r\n", response, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("X-Bad\r\nInjected", "v")]
    [InlineData("X-Ok", "line\r\nInjected: 1")]
    [InlineData("Bad Name", "v")]
    [InlineData("X-Nul", "a\0b")]
    public async Task Refuses_an_invalid_app_header_with_a_500(string name, string value)
    {
        await using var h = new WorkerHarness((req, resp) =>
        {
            resp.SetResponse("200 OK", [new(name, value)]);
            resp.Write("secret"u8);
        });
        var response = await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error\r\n", response, StringComparison.Ordinal);
        Assert.DoesNotContain("Injected", response, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_request_gets_a_400_and_the_worker_keeps_serving()
    {
        await using var h = new WorkerHarness(Hello);
        var bad = await h.ExchangeAsync("GET / HTTP/1.1\r\nBad Header\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 400 ", bad, StringComparison.Ordinal);
        Assert.Contains("Connection: close", bad, StringComparison.Ordinal);
        var good = await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK", good, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_out_of_memory_reaching_the_connection_is_one_line_and_the_worker_keeps_serving()
    {
        // Under a small worker_heap_limit any allocation may fail; the log shows no .NET stack trace for it.
        await using var h = new WorkerHarness((request, response) =>
        {
            if (request.Path == "/oom")
            {
                throw new OutOfMemoryException("no room in the heap");
            }

            Hello(request, response);
        });
        await h.ExchangeAsync("GET /oom HTTP/1.1\r\nHost: x\r\n\r\n");
        var log = h.Log.ToString();
        Assert.Contains("[ERROR] Error handling request from 127.0.0.1: OutOfMemoryException: no room in the heap", log, StringComparison.Ordinal);
        Assert.DoesNotContain(" at Unicorn.", log, StringComparison.Ordinal);
        var good = await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK", good, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Too_many_headers_get_a_431()
    {
        await using var h = new WorkerHarness(Hello, s => s.Set("limit_request_fields", 3));
        var response = await h.ExchangeAsync("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 431 ", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fires_max_requests_once_after_the_limit()
    {
        var fired = 0;
        await using var h = new WorkerHarness(Hello, s => s.Set("max_requests", 3));
        h.Worker.MaxRequestsReached += () => Interlocked.Increment(ref fired);
        for (var i = 0; i < 5; i++)
        {
            var r = await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 200 OK", r, StringComparison.Ordinal);
        }

        Assert.Equal(1, fired);
        Assert.Equal(5, h.Worker.RequestCount);
    }
}
