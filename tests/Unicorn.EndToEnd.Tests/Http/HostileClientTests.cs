using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Core;

namespace Unicorn.EndToEnd.Tests.Http;

/// <summary>
/// Idle and slow clients cost no Python thread: with 1,000 idle connections and a slowloris client on
/// one worker, a normal client is still answered within a second, for sync and gthread alike.
/// </summary>
public sealed class HostileClientTests
{
    [Theory]
    [InlineData("sync")]
    [InlineData("gthread")]
    public async Task A_normal_client_is_served_within_a_second_despite_1000_idle_connections_and_a_slowloris(string workerClass)
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.hello:app", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", workerClass, "--threads", workerClass == "sync" ? "1" : "2");
        server.WaitUntilServing(port);

        var idle = new List<Socket>();
        using var stop = new CancellationTokenSource();
        Task? slowloris = null;
        try
        {
            for (var i = 0; i < 1000; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await s.ConnectAsync(IPAddress.Loopback, port);
                idle.Add(s);
            }

            slowloris = Task.Run(async () =>
            {
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await s.ConnectAsync(IPAddress.Loopback, port);
                var bytes = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + new string('a', 1000));
                foreach (var b in bytes)
                {
                    if (stop.IsCancellationRequested)
                    {
                        return;
                    }

                    try
                    {
                        await s.SendAsync(new[] { b });
                    }
                    catch (SocketException)
                    {
                        return;
                    }

                    await Task.Delay(100);
                }
            });

            await Task.Delay(500);
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var watch = Stopwatch.StartNew();
                var response = RawHttp.Send(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); // not queued behind the test pool
                watch.Stop();
                Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"attempt {attempt}: answered after {watch.Elapsed}");
            }
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var s in idle)
            {
                s.Dispose();
            }

            if (slowloris is not null)
            {
                await slowloris;
            }
        }
    }
}
