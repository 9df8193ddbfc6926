using System.Globalization;

namespace Unicorn.Bench.WsLoad;

/// <summary>
/// CONNECTIONS websockets each send a text message of MESSAGE_BYTES (32) and wait for its echo, for SECONDS.
/// Prints wrk's BENCH line (requests = messages echoed) as bench/run's other load generators do.
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        if (args.Length is < 3 or > 4
            || !Uri.TryCreate(args[0], UriKind.Absolute, out var uri)
            || !int.TryParse(args[1], CultureInfo.InvariantCulture, out var connections) || connections < 1
            || !double.TryParse(args[2], CultureInfo.InvariantCulture, out var seconds) || seconds <= 0)
        {
            Console.Error.WriteLine("usage: wsload ws://HOST:PORT/PATH CONNECTIONS SECONDS [MESSAGE_BYTES]");
            return 2;
        }
        var size = args.Length == 4 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 32;
        try
        {
            var result = await EchoLoad.RunAsync(uri, connections, TimeSpan.FromSeconds(seconds), size);
            Console.WriteLine(result.BenchLine());
            return result.Messages > 0 ? 0 : 1;
        }
        catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or System.Net.Http.HttpRequestException or IOException)
        {
            // Opening the connections failed (server down, handshake refused): one line, no stack trace.
            Console.Error.WriteLine($"wsload: connecting to {uri} failed: {e.Message}");
            return 1;
        }
    }
}
