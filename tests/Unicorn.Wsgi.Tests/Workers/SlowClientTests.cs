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

    /// <summary>
    /// As Gunicorn, a client too slow with its body gets no answer; the operator sees one line, never a stack
    /// trace (this was an ERROR with a System.TimeoutException trace).
    /// </summary>
    [Theory]
    [InlineData("Content-Length: 100\r\n\r\n0123456789")]
    [InlineData("Transfer-Encoding: chunked\r\n\r\n64\r\n0123456789")]
    public async Task A_body_that_stops_arriving_is_one_log_line_after_the_timeout(string rest)
    {
        var read = false;
        await using var h = new WorkerHarness((r, w) => { read = true; FakeApp.Ok(r, w); }, s => s.Set("timeout", 1));
        var watch = Stopwatch.StartNew();
        var response = await h.ExchangeAsync("POST / HTTP/1.1\r\nHost: x\r\n" + rest, TimeSpan.FromSeconds(5));
        Assert.Equal("", response);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"closed after {watch.Elapsed}");
        Assert.False(read);
        var log = await WaitForLogAsync(h, "Timed out reading");
        Assert.Contains("[INFO] Timed out reading the request body from ip=127.0.0.1", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", log, StringComparison.Ordinal);
    }

    /// <summary>Bad chunked framing the app meets in a streamed (over 1 MiB) body: a 400 if nothing was sent yet, else a close; one warning either way.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Bad_chunked_framing_in_a_streamed_body_is_an_invalid_request(bool respondFirst)
    {
        await using var h = new WorkerHarness((r, w) =>
        {
            if (respondFirst)
            {
                w.SetResponse("200 OK", [new("Content-Type", "text/plain")]);
                w.Write("started"u8);
                w.Flush();
            }

            var buffer = new byte[65536];
            while (r.Body.Read(buffer) > 0)
            {
            }

            w.SetResponse("200 OK", []);
        });
        var chunk = "100000\r\n" + new string('a', 0x100000) + "\r\n";
        var response = await h.ExchangeAsync("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk + "zz\r\nabc\r\n");
        if (respondFirst)
        {
            Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
            Assert.DoesNotContain("400", response, StringComparison.Ordinal);
        }
        else
        {
            Assert.StartsWith("HTTP/1.1 400 Bad Request", response, StringComparison.Ordinal);
        }

        var log = await WaitForLogAsync(h, "Invalid request");
        Assert.Contains("[WARNING] Invalid request from ip=127.0.0.1: Invalid chunk size: 'zz'", log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", log, StringComparison.Ordinal);
    }

    private static async Task<string> WaitForLogAsync(WorkerHarness h, string fragment)
    {
        for (var i = 0; i < 50 && !h.Log.ToString().Contains(fragment, StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }

        return h.Log.ToString();
    }
}
