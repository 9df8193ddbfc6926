using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>Idle and trickling clients cannot hold a worker's connection slots or Python threads.</summary>
public class SlowClientTests
{
    [Fact]
    public async Task A_new_client_is_served_when_idle_connections_fill_every_slot()
    {
        await using var h = new WorkerHarness(FakeApp.Ok, s => s.Set("worker_connections", 3));
        var idle = new List<Socket>();
        for (var i = 0; i < 3; i++)
        {
            idle.Add(await h.ConnectAsync());
        }

        await Task.Delay(200);
        var watch = Stopwatch.StartNew();
        var response = await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");

        // The connection idle longest made room: the server closed it.
        var closed = await WorkerHarness.ReadUntilClosedAsync(idle[0], TimeSpan.FromSeconds(2));
        Assert.Equal("", closed);
        idle.ForEach(s => s.Dispose());
    }

    [Fact]
    public async Task A_request_head_trickling_in_is_cut_off_after_the_timeout()
    {
        await using var h = new WorkerHarness(FakeApp.Ok, s => s.Set("timeout", 1));
        using var slow = await h.ConnectAsync();
        var watch = Stopwatch.StartNew();
        var request = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ");
        await slow.SendAsync(request);
        var closedAt = TimeSpan.Zero;
        for (var i = 0; i < 30; i++)
        {
            await Task.Delay(150);
            try
            {
                await slow.SendAsync("a"u8.ToArray());
            }
            catch (SocketException)
            {
                closedAt = watch.Elapsed;
                break;
            }

            if (slow.Poll(0, SelectMode.SelectRead) && slow.Available == 0)
            {
                closedAt = watch.Elapsed;
                break;
            }
        }

        Assert.NotEqual(TimeSpan.Zero, closedAt);
        Assert.True(closedAt < TimeSpan.FromSeconds(2.5), $"closed after {closedAt}");
        Assert.Equal(0, h.Worker.RequestCount);
    }
}
