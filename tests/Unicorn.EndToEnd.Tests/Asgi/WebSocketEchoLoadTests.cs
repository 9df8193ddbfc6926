using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Asgi;

/// <summary>
/// Many websockets echoing at once, as bench/wsload drives them: every echo comes back whole and the worker never
/// fails. A receive that completed between two looks at its task was consumed twice, which raised in the app and,
/// on the close path, crashed the worker (seen twice in 80 s of bench/wsload against two workers); the window is
/// narrow, so these few seconds are a check of the load path as a whole, not a reliable trigger of that race.
/// </summary>
public sealed class WebSocketEchoLoadTests
{
    [Fact]
    public async Task Fifty_websockets_echoing_at_full_speed_get_every_echo_and_the_worker_never_fails()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.bench_asgi:hello", "-k", "asgi", "-w", "1", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");

        var message = Encoding.ASCII.GetBytes(new string('x', 32));
        var sockets = await Task.WhenAll(Enumerable.Range(0, 50).Select(async _ =>
        {
            var ws = new ClientWebSocket();
            ws.Options.KeepAliveInterval = TimeSpan.Zero;
            await ws.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/"), CancellationToken.None);
            return ws;
        }));
        var deadline = Stopwatch.GetTimestamp() + (6 * Stopwatch.Frequency);
        var echoes = await Task.WhenAll(sockets.Select(ws => Task.Run(() => EchoUntilAsync(ws, message, deadline))));
        foreach (var ws in sockets)
        {
            await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            ws.Dispose();
        }

        Assert.All(echoes, n => Assert.True(n > 0, "a websocket got no echo back"));
        Assert.Equal(1, server.Count("Booting worker"));
        Assert.DoesNotContain("ASGI application", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", server.Log, StringComparison.Ordinal);
    }

    private static async Task<int> EchoUntilAsync(ClientWebSocket ws, byte[] message, long deadline)
    {
        var buffer = new byte[message.Length + 1];
        var count = 0;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            await ws.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
            var r = await ws.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
            Assert.True(r.EndOfMessage, "an echo came back in pieces or too long");
            Assert.Equal(message, buffer[..r.Count]);
            count++;
        }

        return count;
    }
}
