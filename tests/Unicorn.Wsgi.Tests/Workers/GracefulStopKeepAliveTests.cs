using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// A graceful stop (HUP, TERM, max_requests) and the keep-alive connections it meets. A client told
/// "keep-alive" may send its next request at any moment, so an idle connection keeps its keep-alive time:
/// a request that arrives is answered with Connection: close instead of meeting a closed socket (the
/// bench/soak --long failures at each HUP). Gunicorn 26.1's gthread worker does the same.
/// </summary>
public class GracefulStopKeepAliveTests
{
    private const string Get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    [Fact]
    public async Task A_request_sent_after_the_stop_on_an_idle_connection_is_answered_and_then_closed()
    {
        await using var h = new WorkerHarness(FakeApp.Ok, s => s.Set("keepalive", 5));
        using var client = await h.ConnectAsync();
        var first = await SendAsync(client);
        Assert.DoesNotContain("Connection: close", first, StringComparison.Ordinal);

        h.Worker.BeginGracefulStop();
        await Task.Delay(600); // longer than the 250 ms an idle connection used to get

        await client.SendAsync(Encoding.ASCII.GetBytes(Get));
        var second = await WorkerHarness.ReadUntilClosedAsync(client, TimeSpan.FromSeconds(5));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", second, StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", second, StringComparison.Ordinal);
        await h.Run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_stop_that_begins_after_a_keep_alive_response_went_out_still_answers_the_next_request()
    {
        await using var h = new WorkerHarness(FakeApp.Ok, s => s.Set("keepalive", 5));
        // The stop lands between the response (which promised keep-alive) and the wait for the next request.
        h.Worker.RequestCompleted += _ => h.Worker.BeginGracefulStop();
        using var client = await h.ConnectAsync();
        var first = await SendAsync(client);
        Assert.DoesNotContain("Connection: close", first, StringComparison.Ordinal);

        await client.SendAsync(Encoding.ASCII.GetBytes(Get));
        var second = await WorkerHarness.ReadUntilClosedAsync(client, TimeSpan.FromSeconds(5));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", second, StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", second, StringComparison.Ordinal);
    }

    // Without a response yet: a browser's preconnect or a load balancer's spare connection, which used to hold the stop
    // for timeout (30 s), past graceful_timeout into the master's SIGKILL (no worker_exit, no lifespan shutdown).
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_idle_connection_that_stays_silent_is_closed_after_its_keep_alive_time_and_the_worker_ends(bool servedOne)
    {
        await using var h = new WorkerHarness(FakeApp.Ok, s => s.Set("keepalive", 1));
        using var client = await h.ConnectAsync();
        if (servedOne)
        {
            await SendAsync(client);
        }
        else
        {
            await Task.Delay(400); // accepted and waiting for its request
        }

        var stopped = Stopwatch.StartNew();
        h.Worker.BeginGracefulStop();
        await h.Run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(3), $"the worker took {stopped.Elapsed} to stop");
        Assert.Equal("", await WorkerHarness.ReadUntilClosedAsync(client, TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public async Task A_first_request_sent_just_after_the_stop_is_answered_and_then_closed()
    {
        await using var h = new WorkerHarness(FakeApp.Ok, s => s.Set("keepalive", 1));
        using var client = await h.ConnectAsync();
        await Task.Delay(400);

        h.Worker.BeginGracefulStop();
        await Task.Delay(400);
        await client.SendAsync(Encoding.ASCII.GetBytes(Get));
        var response = await WorkerHarness.ReadUntilClosedAsync(client, TimeSpan.FromSeconds(5));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", response, StringComparison.Ordinal);
    }

    private static async Task<string> SendAsync(Socket client)
    {
        await client.SendAsync(Encoding.ASCII.GetBytes(Get));
        var responses = await WorkerHarness.ReadResponsesAsync(client, 1);
        var response = Assert.Single(responses);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        return response;
    }
}
