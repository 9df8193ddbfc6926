using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// The sync worker's Python thread waits for its keep-alive connections' next requests itself
/// (Workers/IdleAcceptor as Connections/IReadyWaiter): a request that arrives on one is read and run on that
/// thread, not read by the socket engine's thread and handed over. The connection keeps every rule of an idle
/// one: its keep-alive time, eviction for a slot, and a graceful stop that still answers its next request.
/// </summary>
public sealed class KeepAliveParkTests
{
    private const string Get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Every_keep_alive_request_runs_on_the_accepting_thread()
    {
        var onAcceptor = new ConcurrentQueue<bool>();
        await using var h = new WorkerHarness((request, response) =>
        {
            onAcceptor.Enqueue(new StackTrace().GetFrames().Any(f => f.GetMethod()?.DeclaringType == typeof(IdleAcceptor)));
            FakeApp.Ok(request, response);
        }, Sync);

        using var client = await h.ConnectAsync();
        for (var i = 0; i < 50; i++)
        {
            // Each request goes out after the previous response: the connection waited, empty, in between.
            await Task.Delay(2);
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", await SendAsync(client), StringComparison.Ordinal);
        }

        Assert.Equal(50, onAcceptor.Count);
        Assert.All(onAcceptor.Skip(1), Assert.True);
    }

    [Fact]
    public async Task Many_keep_alive_connections_are_all_answered_beside_connections_per_request()
    {
        await using var h = new WorkerHarness(FakeApp.Ok, Sync);
        const int Clients = 20;
        const int Requests = 100;
        var keepAlive = Enumerable.Range(0, Clients).Select(async _ =>
        {
            using var s = await h.ConnectAsync();
            for (var i = 0; i < Requests; i++)
            {
                Assert.StartsWith("HTTP/1.1 200 OK\r\n", await SendAsync(s), StringComparison.Ordinal);
            }
        });
        var perRequest = Task.Run(async () =>
        {
            for (var i = 0; i < Requests; i++)
            {
                Assert.StartsWith("HTTP/1.1 200 OK\r\n", await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", Wait), StringComparison.Ordinal);
            }
        });

        await Task.WhenAll(keepAlive.Append(perRequest)).WaitAsync(TimeSpan.FromSeconds(90));
        Assert.Equal((Clients + 1) * Requests, h.Worker.RequestCount);
    }

    [Fact]
    public async Task A_waiting_connection_is_closed_after_its_keep_alive_time()
    {
        await using var h = new WorkerHarness(FakeApp.Ok, s =>
        {
            Sync(s);
            s.Set("keepalive", 1);
        });
        using var client = await h.ConnectAsync();
        await SendAsync(client);

        var clock = Stopwatch.StartNew();
        var rest = await WorkerHarness.ReadUntilClosedAsync(client, Wait);
        Assert.Equal("", rest);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_request_sent_after_a_graceful_stop_on_a_waiting_connection_is_answered_and_then_closed()
    {
        await using var h = new WorkerHarness(FakeApp.Ok, s =>
        {
            Sync(s);
            s.Set("keepalive", 5);
        });
        using var client = await h.ConnectAsync();
        Assert.DoesNotContain("Connection: close", await SendAsync(client), StringComparison.Ordinal);

        // The stop ends the thread's waiting: the connection goes back to the socket engine with its time left.
        h.Worker.BeginGracefulStop();
        await Task.Delay(600);
        await client.SendAsync(Encoding.ASCII.GetBytes(Get));
        var second = await WorkerHarness.ReadUntilClosedAsync(client, Wait);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", second, StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", second, StringComparison.Ordinal);
        await h.Run.WaitAsync(Wait);
    }

    [Fact]
    public async Task A_waiting_connection_gives_its_slot_to_a_new_client_when_the_worker_is_full()
    {
        await using var h = new WorkerHarness(FakeApp.Ok, s =>
        {
            Sync(s);
            s.Set("worker_connections", 1);
            s.Set("keepalive", 60);
        });
        using var idle = await h.ConnectAsync();
        await SendAsync(idle);

        // The one slot is the idle connection's: the newcomer is let in by closing it (after it was idle 250 ms).
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", Wait), StringComparison.Ordinal);
        Assert.Equal("", await WorkerHarness.ReadUntilClosedAsync(idle, Wait));
    }

    private static async Task<string> SendAsync(Socket client)
    {
        await client.SendAsync(Encoding.ASCII.GetBytes(Get));
        var got = await WorkerHarness.ReadResponsesAsync(client, 1);
        return Assert.Single(got);
    }

    private static void Sync(Wsgi.Config.Settings s)
    {
        s.Set("worker_class", "sync");
        s.Set("threads", 1);
    }
}
