using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;

namespace Unicorn.Bench.WsLoad;

/// <summary>Opens every connection first, then runs the echo loops together for the duration.</summary>
internal static class EchoLoad
{
    public static async Task<EchoResult> RunAsync(Uri uri, int connections, TimeSpan duration, int size)
    {
        var message = Encoding.ASCII.GetBytes(new string('x', size));
        var sockets = new ClientWebSocket[connections];
        var errors = 0;
        // Connect before the clock starts, as wrk does: the handshake is not an echo.
        await Parallel.ForEachAsync(Enumerable.Range(0, connections), async (i, ct) =>
        {
            var ws = new ClientWebSocket();
            ws.Options.KeepAliveInterval = TimeSpan.Zero;
            await ws.ConnectAsync(uri, ct);
            sockets[i] = ws;
        });
        var latencies = new List<long>[connections];
        var start = Stopwatch.GetTimestamp();
        var deadline = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var loops = new Task<int>[connections];
        for (var i = 0; i < connections; i++)
        {
            latencies[i] = new List<long>(4096);
            loops[i] = EchoAsync(sockets[i], message, deadline, latencies[i]);
        }
        foreach (var loop in loops)
        {
            errors += await loop;
        }
        var elapsed = Stopwatch.GetElapsedTime(start);
        await Task.WhenAll(sockets.Select(CloseAsync));
        return EchoResult.From(latencies, elapsed, errors);
    }

    private static async Task<int> EchoAsync(ClientWebSocket ws, byte[] message, long deadline, List<long> latencies)
    {
        var buffer = new byte[message.Length + 1];
        try
        {
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var sent = Stopwatch.GetTimestamp();
                await ws.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                var received = 0;
                ValueWebSocketReceiveResult r;
                do
                {
                    // A longer echo than sent overflows the spare byte and fails the comparison below.
                    r = await ws.ReceiveAsync(buffer.AsMemory(Math.Min(received, message.Length)), CancellationToken.None);
                    received += r.Count;
                }
                while (!r.EndOfMessage && r.MessageType != WebSocketMessageType.Close);
                if (r.MessageType != WebSocketMessageType.Text || received != message.Length
                    || !buffer.AsSpan(0, received).SequenceEqual(message))
                {
                    return 1;
                }
                latencies.Add(Stopwatch.GetTimestamp() - sent);
            }
            return 0;
        }
        catch (Exception e) when (e is WebSocketException or IOException)
        {
            Console.Error.WriteLine($"wsload: {e.Message}");
            return 1;
        }
    }

    private static async Task CloseAsync(ClientWebSocket ws)
    {
        try
        {
            if (ws.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException)
        {
            // The measurement is over; a server that drops the close handshake is not an echo error.
        }
        ws.Dispose();
    }
}
