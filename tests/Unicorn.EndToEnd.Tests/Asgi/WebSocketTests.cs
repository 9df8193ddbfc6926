using System.Globalization;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Asgi;

/// <summary>
/// Websockets under -k asgi with python3-websockets as the client: echo, subprotocols, close codes both ways, the
/// denial extension, and hostile clients (oversized and fragmented messages, a client that never reads, a ping flood).
/// </summary>
public sealed class WebSocketTests(WebSocketServerFixture fixture) : IClassFixture<WebSocketServerFixture>
{
    private readonly int _port = fixture.Port;

    [Fact]
    public void Text_and_binary_messages_echo_with_and_without_permessage_deflate()
    {
        var lines = WebSocketClient.Run(_port, "echo");
        Assert.Equal(2, lines.Count(l => l == "text hello"));
        Assert.Equal(2, lines.Count(l => l == "bytes 00ff62696e"));
        Assert.Equal(2, lines.Count(l => l == "empty '' b''"));
        // The client offers permessage-deflate by default; the second connection offers nothing.
        Assert.Contains(lines, l => l.StartsWith("extensions permessage-deflate", StringComparison.Ordinal));
        Assert.Contains("extensions None", lines);
        Assert.Contains("scope ws /echo ['websocket.http.response']", lines);
        fixture.Server.WaitForLog("\"GET /echo HTTP/1.1\" 101 0 "); // the access log shows the upgrade
    }

    [Fact]
    public void Messages_sent_ahead_of_the_echoes_come_back_whole_and_in_order()
    {
        Assert.Contains("pipelined 300 in order", WebSocketClient.Run(_port, "pipelined"));
    }

    [Fact]
    public void The_app_picks_a_subprotocol_and_adds_headers_to_the_101()
    {
        Assert.Contains("subprotocol superchat chat,superchat", WebSocketClient.Run(_port, "subprotocol"));
    }

    [Fact]
    public void Close_codes_travel_both_ways()
    {
        Assert.Contains("closed by client 4321", WebSocketClient.Run(_port, "client-close"));
        fixture.Server.WaitForLog("client closed 4321 done"); // with the close frame's reason, as uvicorn gives it

        Assert.Contains("server closed 4000 bye", WebSocketClient.Run(_port, "server-close"));
        fixture.Server.WaitForLog("after server close: websocket.disconnect 4000");
        // A send after the app's own close is the app's mistake, named as uvicorn names it: not "client disconnected".
        fixture.Server.WaitForLog("send after close raised RuntimeError: Unexpected ASGI message 'websocket.send' after sending 'websocket.close'");
    }

    [Fact]
    public void An_app_that_raises_after_accept_closes_with_1011()
    {
        // As Gunicorn 26.1's worker: 1011 Internal Error, not the 1000 Normal Closure sent for an app that returns.
        var lines = WebSocketClient.Run(_port, "app-raises");
        // Gunicorn's reason and log line too: "Error in ASGI application" and no reason read as an http failure.
        Assert.Contains("app raised 1011 Application error", lines);
        fixture.Server.WaitForLog("ws app failed after accept");
        Assert.Contains(fixture.Server.Lines, l => l.Contains("[ERROR] Error in WebSocket ASGI application", StringComparison.Ordinal));
        // So does one whose own close was refused (a reason over 123 bytes): that close used to count as sent, and
        // the client got no close frame at all (1006).
        Assert.Contains("bad close 1011 Application error", lines);
        // In Python's words (.NET's "The close status description ... (Parameter 'statusDescription')" reached the app).
        fixture.Server.WaitForLog("bad close raised ValueError: websocket.close reason is 124 bytes in UTF-8; a close frame holds at most 123");
        fixture.Server.WaitForLog("bad close raised ValueError: websocket.close code 999 is not one a close frame may carry (1000-4999, not 1005, 1006 or 1015)");
    }

    [Fact]
    public void A_close_right_behind_a_message_reaches_the_app_as_a_disconnect()
    {
        // Often the close frame is already read when the app receives again (the receive completes at once; the
        // fast path once consumed that result twice, and the channels test saw a RuntimeError instead of a disconnect).
        var errors = fixture.Server.Count("Error in WebSocket ASGI application");
        for (var i = 0; i < 5; i++)
        {
            Assert.Contains("closed by client 4322", WebSocketClient.Run(_port, "send-then-close"));
        }

        fixture.Server.WaitForLog("client closed 4322", times: 5);
        Assert.Equal(errors, fixture.Server.Count("Error in WebSocket ASGI application"));
    }

    [Fact]
    public void A_close_before_accept_is_403_and_the_denial_extension_sends_the_apps_response()
    {
        var lines = WebSocketClient.Run(_port, "denial");
        Assert.Contains("/reject 403", lines);
        Assert.Contains("/deny 401", lines);
        fixture.Server.WaitForLog("\"GET /reject HTTP/1.1\" 403 0 ");
        fixture.Server.WaitForLog("\"GET /deny HTTP/1.1\" 401 6 ");
    }

    [Fact]
    public void A_message_over_ws_max_size_closes_with_1009()
    {
        Assert.Contains("too big 1009 ", WebSocketClient.Run(_port, "too-big"));
        fixture.Server.WaitForLog("client closed 1009");
    }

    [Fact]
    public void Fragments_are_reassembled_up_to_ws_max_size_and_no_further()
    {
        var lines = WebSocketClient.Run(_port, "fragments");
        Assert.Contains("fragments len 983043", lines);
        Assert.Contains("fragments over 1009 ", lines);
    }

    [Fact]
    public void A_ping_flood_is_answered_and_the_websocket_keeps_working()
    {
        var lines = WebSocketClient.Run(_port, "ping-flood");
        Assert.Contains("pongs 20000", lines);
        Assert.Contains("echo after flood", lines);
    }

    [Fact]
    public void A_silent_peer_is_dropped_by_the_ping_timeout_while_the_app_waits_in_receive()
    {
        // The fixture pings every 2 s and waits 2 s for the pong. A half-open client used to keep its connection and the
        // app's receive() forever: .NET aborted the websocket, but its stream did not own the socket.
        var before = fixture.Server.Count("client closed 1006");
        var lines = WebSocketClient.Run(_port, "silent");
        Assert.Contains("pinged True", lines);
        Assert.Contains(lines, l => l is "closed by server after 4 s" or "closed by server after 5 s" or "closed by server after 6 s");
        fixture.Server.WaitForLog("client closed 1006", before + 1, 10);
    }

    [Fact]
    public void A_client_that_never_reads_holds_back_only_its_own_sender_and_is_dropped_by_the_ping_timeout()
    {
        var before = fixture.Server.Count("flood ended after");
        var lines = WebSocketClient.Run(_port, "no-read");
        Assert.Contains("handshake HTTP/1.1 101", lines);
        Assert.Contains("text hello", lines); // another websocket was served meanwhile
        Assert.Contains("stalled", lines);

        // send() held the app back once the socket buffers were full, and the unanswered ping (2 s + 2 s) ended it.
        fixture.Server.WaitForLog("flood ended after", before + 1, 60);
        var sent = fixture.Server.Lines.Where(l => l.StartsWith("flood ended after ", StringComparison.Ordinal))
            .Select(l => int.Parse(l["flood ended after ".Length..], CultureInfo.InvariantCulture)).Last();
        Assert.InRange(sent, 1, 400); // 64 KiB each: what the kernel's buffers hold, not an unbounded queue
    }

    [Fact]
    public void A_send_to_a_client_whose_connection_reset_raises_OSError_saying_the_client_disconnected()
    {
        // FastAPI's chat broadcast to a member whose network dropped: the app's send raises OSError, as the ASGI spec
        // asks, with a line an operator reads as such, not .NET's ("The operation was canceled.").
        var before = fixture.Server.Count("flood send raised ");
        Assert.Contains("reset", WebSocketClient.Run(_port, "reset"));
        fixture.Server.WaitForLog("flood send raised ", before + 1, 30);
        var raised = fixture.Server.Lines.Where(l => l.StartsWith("flood send raised ", StringComparison.Ordinal)).Last();
        Assert.Contains(raised, new[] { "flood send raised OSError: client disconnected", "flood send raised OSError: websocket closed (1006)" });
    }
}
