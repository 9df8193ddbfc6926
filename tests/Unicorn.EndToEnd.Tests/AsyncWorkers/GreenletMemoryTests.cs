using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.AsyncWorkers;

/// <summary>
/// Repeated waves of a thousand short-lived connections to one -k gevent worker: nothing accumulates. Python's object
/// count stays flat, and the worker's resident memory has a floor that does not rise (between waves it moves with the
/// .NET heap's collections, up and back down, which is not growth).
/// </summary>
public sealed class GreenletMemoryTests
{
    private const int Waves = 8;
    private const int Connections = 1000;

    [Fact]
    public async Task Memory_plateaus_over_repeated_waves_of_a_thousand_connections()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.greenlet_apps:app", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", "gevent",
            "--no-control-socket", "--worker-connections", "1100");
        server.WaitUntilServing(port, 120);
        var worker = server.Workers().Single();

        var rss = new List<long>();
        var objects = new List<int>();
        for (var wave = 0; wave < Waves; wave++)
        {
            var results = await Task.WhenAll(Enumerable.Range(0, Connections).Select(_ => TryGetAsync(port, "/sleep?0.2")));
            Assert.True(results.Count(ok => ok) >= Connections * 0.98, $"wave {wave}: {results.Count(ok => !ok)} failed\n{server.Log}");
            await Task.Delay(2000);
            rss.Add(RssMiB(worker));
            objects.Add(int.Parse(UnicornServer.Get(port, "/objects", 60).Body, CultureInfo.InvariantCulture));
        }

        var trace = $"RSS MiB per wave: {string.Join(", ", rss)}; Python objects: {string.Join(", ", objects)}";
        // Python: nothing kept per request or per connection (a dict entry per request would add 1,000 a wave, to every
        // later reading; one reading taken while a wave's last objects were still being freed is not growth).
        Assert.True(objects.Skip(Waves / 2).Min() - objects.Take(Waves / 2).Max() < 300, trace);
        // The process: the lowest reading of the later waves is not above the earlier ones' by more than noise.
        Assert.True(rss.Skip(Waves / 2).Min() <= rss.Take(Waves / 2).Min() + 48, trace);
        Assert.Equal([worker], server.Workers());
    }

    private static async Task<bool> TryGetAsync(int port, string path)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await socket.ConnectAsync(IPAddress.Loopback, port, cts.Token);
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n"), cts.Token);
            var response = new MemoryStream();
            var buffer = new byte[4096];
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
            {
                response.Write(buffer, 0, n);
            }

            return Encoding.Latin1.GetString(response.ToArray()).StartsWith("HTTP/1.0 200", StringComparison.Ordinal)
                || Encoding.Latin1.GetString(response.ToArray()).StartsWith("HTTP/1.1 200", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private static long RssMiB(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }
}
