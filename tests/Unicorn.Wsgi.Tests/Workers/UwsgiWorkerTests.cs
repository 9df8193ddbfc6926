using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Tests.Uwsgi;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>A worker with <c>protocol = uwsgi</c>, spoken to with raw sockets as nginx's uwsgi module would.</summary>
public sealed class UwsgiWorkerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static WorkerHarness Uwsgi(Action<WsgiRequest, IResponseSink> app, string allow = "127.0.0.1,::1") =>
        new(app, s =>
        {
            s.Set("protocol", "uwsgi");
            s.Set("uwsgi_allow_ips", allow);
        });

    private static void Echo(WsgiRequest request, IResponseSink response)
    {
        var body = FakeApp.ReadBody(request.Body);
        var text = Encoding.Latin1.GetBytes($"{request.Method} {request.Path} {request.RemoteEndPoint} len={body.Length} body={(body.Length > 40 ? body[..40] : body)}");
        response.SetResponse("200 OK", [new("Content-Length", text.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        response.Write(text);
    }

    private static async Task<string> ExchangeAsync(WorkerHarness worker, byte[] data)
    {
        using var s = await worker.ConnectAsync();
        await s.SendAsync(data);
        s.Shutdown(SocketShutdown.Send);
        return await WorkerHarness.ReadUntilClosedAsync(s, Wait);
    }

    [Fact]
    public async Task A_packet_and_its_body_reach_the_app_and_the_answer_is_an_http_response()
    {
        await using var worker = Uwsgi(Echo);
        var response = await ExchangeAsync(worker, UwsgiPackets.Request("POST", "/form", "", "a=1&b=2"));
        Assert.StartsWith("HTTP/1.0 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.EndsWith("POST /form 203.0.113.7:51234 len=7 body=a=1&b=2", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Length_framed_responses_keep_the_connection_for_the_next_packet()
    {
        await using var worker = Uwsgi(Echo);
        using var s = await worker.ConnectAsync();
        await s.SendAsync((byte[])[.. UwsgiPackets.Request(path: "/one"), .. UwsgiPackets.Request("PUT", "/two", "", "xyz")]);
        var responses = await WorkerHarness.ReadResponsesAsync(s, 2);
        Assert.Equal(2, responses.Count);
        Assert.Contains("GET /one", responses[0], StringComparison.Ordinal);
        Assert.Contains("PUT /two 203.0.113.7:51234 len=3 body=xyz", responses[1], StringComparison.Ordinal);
        Assert.Contains("Connection: keep-alive", responses[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_response_without_content_length_is_never_chunked_and_ends_by_closing()
    {
        // nginx's uwsgi module decodes no chunked coding: the body ends where the connection does.
        await using var worker = Uwsgi((_, response) =>
        {
            response.SetResponse("200 OK", [new("Content-Type", "text/plain")]);
            response.Write("part1,"u8);
            response.Flush();
            response.Write("part2"u8);
        });
        using var s = await worker.ConnectAsync();
        await s.SendAsync(UwsgiPackets.Request());
        var response = await WorkerHarness.ReadUntilClosedAsync(s, Wait);
        Assert.DoesNotContain("Transfer-Encoding", response, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Connection: close\r\n", response, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\npart1,part2", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_larger_than_the_buffer_streams_to_the_app()
    {
        await using var worker = Uwsgi(Echo);
        var body = new string('z', (1 << 20) + 12345);
        var response = await ExchangeAsync(worker, UwsgiPackets.Request("POST", "/big", "", body));
        Assert.Contains($"len={body.Length} body={body[..40]}", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_buffered_body_over_many_receive_buffers_reaches_the_app_whole()
    {
        // Left in the connection's 8 KiB receive buffers while the app runs (SequenceRequestBody).
        var body = string.Concat(Enumerable.Range(0, 100_000).Select(i => (char)('a' + ((i * 7) + (i / 8192)) % 26)));
        string? seen = null;
        await using var worker = Uwsgi((request, response) =>
        {
            seen = FakeApp.ReadBody(request.Body);
            response.SetResponse("200 OK", [new("Content-Length", "2")]);
            response.Write("ok"u8);
        });
        var answer = await ExchangeAsync(worker, UwsgiPackets.Request("POST", "/upload", "", body));
        Assert.EndsWith("\r\n\r\nok", answer, StringComparison.Ordinal);
        Assert.Equal(body, seen);
    }

    [Fact]
    public async Task A_peer_outside_uwsgi_allow_ips_is_refused_with_403()
    {
        var called = false;
        await using var worker = Uwsgi((r, s) => { called = true; Echo(r, s); }, allow: "10.1.2.3");
        var response = await ExchangeAsync(worker, UwsgiPackets.Request());
        Assert.StartsWith("HTTP/1.1 403 Forbidden\r\n", response, StringComparison.Ordinal);
        Assert.False(called);
        Assert.Contains("Invalid uwsgi request from ip=127.0.0.1: uWSGI request from '127.0.0.1' not allowed", worker.Log.ToString(), StringComparison.Ordinal);
    }

    public static TheoryData<byte[], string> Hostile => new()
    {
        { UwsgiPackets.Frame([1, 0, (byte)'a', 0xff, 0xff, (byte)'b']), "HTTP/1.1 400 Bad Request" },
        { UwsgiPackets.Build([("PATH_INFO", "/")], modifier1: 5), "HTTP/1.1 501 Not Implemented" },
        { UwsgiPackets.Build([("CONTENT_LENGTH", "1e9")]), "HTTP/1.1 400 Bad Request" },
        { UwsgiPackets.Build(Enumerable.Range(0, 2000).Select(i => ("K" + i, ""))), "HTTP/1.1 400 Bad Request" },
        { UwsgiPackets.Build([("REQUEST_METHOD", "GET\r\nX")]), "HTTP/1.1 400 Bad Request" },
        { UwsgiPackets.Request("POST", "/", "", "body", ("SERVER_PROTOCOL", "HTTP/1.1\n")), "HTTP/1.1 400 Bad Request" },
        { "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), "HTTP/1.1 501 Not Implemented" }, // HTTP to a uwsgi port: 'G' is modifier1 71
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task Hostile_packets_are_answered_and_closed_and_the_worker_keeps_serving(byte[] packet, string status)
    {
        await using var worker = Uwsgi(Echo);
        var response = await ExchangeAsync(worker, packet);
        Assert.StartsWith(status + "\r\n", response, StringComparison.Ordinal);
        Assert.Contains("Invalid uwsgi request from ip=127.0.0.1: ", worker.Log.ToString(), StringComparison.Ordinal);
        Assert.Contains("GET / ", await ExchangeAsync(worker, UwsgiPackets.Request()), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(30)]
    public async Task A_packet_cut_short_closes_the_connection_without_an_answer(int sent)
    {
        await using var worker = Uwsgi(Echo);
        var response = await ExchangeAsync(worker, UwsgiPackets.Request()[..sent]);
        Assert.Equal("", response);
        Assert.Contains("GET / ", await ExchangeAsync(worker, UwsgiPackets.Request()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_cut_short_closes_the_connection_and_the_worker_keeps_serving()
    {
        await using var worker = Uwsgi(Echo);
        var full = UwsgiPackets.Request("POST", "/", "", "0123456789");
        Assert.Equal("", await ExchangeAsync(worker, full[..^4]));
        Assert.Contains("len=10", await ExchangeAsync(worker, full), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Early_hints_are_never_sent_over_uwsgi()
    {
        // nginx's uwsgi module would take a 103 status line for the final response.
        await using var worker = Uwsgi((request, response) =>
        {
            response.SendEarlyHints([new("Link", "</a.css>; rel=preload")]);
            FakeApp.Ok(request, response);
        });
        var response = await ExchangeAsync(worker, UwsgiPackets.Request());
        Assert.StartsWith("HTTP/1.0 200 OK", response, StringComparison.Ordinal);
        Assert.DoesNotContain("103", response, StringComparison.Ordinal);
    }
}
