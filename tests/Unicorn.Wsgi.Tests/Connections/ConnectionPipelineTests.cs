using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Http;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Tests.Workers;

namespace Unicorn.Wsgi.Tests.Connections;

/// <summary>
/// The PROXY stage of a worker's connection pipeline, over real loopback sockets: the header is read before
/// the HTTP/1 handler sees a byte, however it is split, and its rejections keep Gunicorn's answers. Also what the
/// pipeline logs when a protocol handler fails.
/// </summary>
public sealed class ConnectionPipelineTests
{
    private static void Capture(WsgiRequest request, IResponseSink response, List<WsgiRequest> seen)
    {
        lock (seen)
        {
            seen.Add(request);
        }

        response.SetResponse("200 OK", [new("Content-Length", "2")]);
        response.Write("ok"u8);
    }

    [Theory]
    [InlineData(1000)] // header and request in one packet
    [InlineData(1)] // a byte at a time
    [InlineData(20)] // the header cut in the middle
    public async Task A_proxy_header_gives_the_request_its_real_client_however_it_arrives(int pieceSize)
    {
        var seen = new List<WsgiRequest>();
        await using var h = new WorkerHarness((req, resp) => Capture(req, resp, seen), s => s.Set("proxy_protocol", "v1"));
        using var socket = await h.ConnectAsync();
        var bytes = Encoding.Latin1.GetBytes("PROXY TCP4 192.0.2.7 198.51.100.1 40000 443\r\nGET /p HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        for (var i = 0; i < bytes.Length; i += pieceSize)
        {
            await socket.SendAsync(bytes.AsMemory(i, Math.Min(pieceSize, bytes.Length - i)));
            if (pieceSize < bytes.Length)
            {
                await Task.Delay(1);
            }
        }

        var response = await WorkerHarness.ReadUntilClosedAsync(socket, TimeSpan.FromSeconds(5));
        Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
        var request = Assert.Single(seen);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.7"), 40000), request.RemoteEndPoint);
        Assert.Equal("/p", request.Path);
    }

    [Fact]
    public async Task Keep_alive_requests_after_the_header_keep_the_proxied_client()
    {
        var seen = new List<WsgiRequest>();
        await using var h = new WorkerHarness((req, resp) => Capture(req, resp, seen), s => s.Set("proxy_protocol", "auto"));
        var response = await h.ExchangeAsync(
            "PROXY TCP4 192.0.2.8 198.51.100.1 40001 443\r\n" +
            "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.Equal(2, response.Split("HTTP/1.1 200 OK").Length - 1);
        Assert.All(seen, r => Assert.Equal("192.0.2.8", ((IPEndPoint)r.RemoteEndPoint!).Address.ToString()));
    }

    [Fact]
    public async Task Without_a_header_the_connection_is_read_as_http()
    {
        var seen = new List<WsgiRequest>();
        await using var h = new WorkerHarness((req, resp) => Capture(req, resp, seen), s => s.Set("proxy_protocol", "auto"));
        var response = await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
        Assert.Equal(IPAddress.Loopback, ((IPEndPoint)Assert.Single(seen).RemoteEndPoint!).Address);
    }

    [Fact]
    public async Task A_peer_outside_proxy_allow_ips_gets_a_403_and_one_warning()
    {
        var seen = new List<WsgiRequest>();
        await using var h = new WorkerHarness((req, resp) => Capture(req, resp, seen), s =>
        {
            s.Set("proxy_protocol", "v1");
            s.Set("proxy_allow_ips", "10.0.0.1");
        });
        var response = await h.ExchangeAsync("PROXY TCP4 192.0.2.7 198.51.100.1 40000 443\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 403 Forbidden", response, StringComparison.Ordinal);
        Assert.Empty(seen);
        Assert.Contains("Invalid request from ip=127.0.0.1: ", h.Log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_header_gets_a_400_and_the_worker_keeps_serving()
    {
        var seen = new List<WsgiRequest>();
        await using var h = new WorkerHarness((req, resp) => Capture(req, resp, seen), s => s.Set("proxy_protocol", "v1"));
        var bad = await h.ExchangeAsync("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 400 Bad Request", bad, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", h.Log.ToString(), StringComparison.Ordinal);
        var good = await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK", good, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Out_of_memory_in_a_protocol_handler_is_one_line_and_the_connection_closes()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        using var accepted = await listener.AcceptAsync();
        var output = new StringWriter();
        var pipeline = new ConnectionPipeline(HttpParserOptions.Default, TimeSpan.FromSeconds(5), null,
            new ProtocolHandlers(new OutOfMemoryHandler()), new StderrErrorLog(LogLevel.Debug, output));

        await pipeline.RunAsync(accepted, new ListenerInfo(listener), CancellationToken.None);

        var line = Assert.Single(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.EndsWith("Error handling request from 127.0.0.1: OutOfMemoryException: heap limit", line, StringComparison.Ordinal);
        Assert.Equal(0, await client.ReceiveAsync(new byte[1])); // closed
    }

    private sealed class OutOfMemoryHandler : IConnectionHandler
    {
        public Task RunAsync(ConnectionContext connection) => throw new OutOfMemoryException("heap limit");
    }
}
