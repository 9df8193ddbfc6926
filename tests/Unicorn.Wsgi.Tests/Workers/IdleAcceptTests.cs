using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// The sync worker's Python thread accepts connections itself when idle (Workers/IdleAcceptor): a busy worker
/// leaves new connections in the listen queue (for its idle peers), and a connection whose request is already
/// there runs on the thread that accepted it.
/// </summary>
public sealed class IdleAcceptTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_busy_sync_worker_accepts_nothing_then_runs_the_waiting_request_on_the_accepting_thread()
    {
        using var gate = new ManualResetEventSlim();
        var ranInAcceptor = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>();
        await using var h = new WorkerHarness((request, response) =>
        {
            ranInAcceptor[request.RawUri] = new StackTrace().GetFrames().Any(f => f.GetMethod()?.DeclaringType == typeof(IdleAcceptor));
            if (request.RawUri == "/slow")
            {
                gate.Wait(Wait);
            }

            FakeApp.Ok(request, response);
        }, Sync);

        using var slow = await h.ConnectAsync();
        await slow.SendAsync("GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
        await WaitUntil(() => h.Worker.BusyThreads == 1);

        // The one Python thread is in /slow: the next connection's complete request waits in the listen queue,
        // where another worker sharing the socket could take it, rather than being read and queued here.
        using var next = await h.ConnectAsync();
        await next.SendAsync("GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
        await Task.Delay(300);
        Assert.Equal(0, h.Worker.QueueDepth);
        Assert.False(ranInAcceptor.ContainsKey("/next"));

        gate.Set();
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await WorkerHarness.ReadUntilClosedAsync(slow, Wait), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await WorkerHarness.ReadUntilClosedAsync(next, Wait), StringComparison.Ordinal);
        // Its bytes were there when the freed thread accepted it: read, run and answered on that thread.
        Assert.True(ranInAcceptor["/next"]);
    }

    [Fact]
    public async Task Keep_alive_requests_queued_by_the_epoll_thread_wake_the_accepting_thread_every_time()
    {
        // Requests on open connections reach the idle thread through its eventfd while it waits in poll(2);
        // a lost wake-up would leave one waiting until the next connection arrives, and this test time out.
        await using var h = new WorkerHarness(FakeApp.Ok, Sync);
        const int Clients = 3;
        const int Requests = 200;
        var keepAlive = Enumerable.Range(0, Clients).Select(async _ =>
        {
            using var s = await h.ConnectAsync();
            for (var i = 0; i < Requests; i++)
            {
                await s.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
                var got = await WorkerHarness.ReadResponsesAsync(s, 1);
                Assert.Single(got);
                Assert.StartsWith("HTTP/1.1 200 OK\r\n", got[0], StringComparison.Ordinal);
            }
        });
        var perRequest = Task.Run(async () =>
        {
            for (var i = 0; i < Requests; i++)
            {
                Assert.StartsWith("HTTP/1.1 200 OK\r\n", await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), StringComparison.Ordinal);
            }
        });

        await Task.WhenAll(keepAlive.Append(perRequest)).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal((Clients + 1) * Requests, h.Worker.RequestCount);
    }

    [Fact]
    public async Task A_gthread_worker_still_accepts_while_its_threads_are_busy()
    {
        // gthread accepts up to worker_connections, as Gunicorn's: a connection waits for a thread, not for accept.
        using var gate = new ManualResetEventSlim();
        await using var h = new WorkerHarness(
            (request, response) =>
            {
                gate.Wait(Wait);
                FakeApp.Ok(request, response);
            },
            s => s.Set("threads", 2));

        var sockets = new List<Socket>();
        for (var i = 0; i < 3; i++)
        {
            var s = await h.ConnectAsync();
            await s.SendAsync(Encoding.Latin1.GetBytes("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
            sockets.Add(s);
        }

        await WaitUntil(() => h.Worker.BusyThreads == 2 && h.Worker.QueueDepth == 1);
        gate.Set();
        foreach (var s in sockets)
        {
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", await WorkerHarness.ReadUntilClosedAsync(s, Wait), StringComparison.Ordinal);
            s.Dispose();
        }
    }

    [Fact]
    public async Task The_accepting_thread_waits_for_a_request_that_follows_the_accept()
    {
        // nginx's proxy_pass connects, then writes: the acceptor holds the new connection until its bytes come,
        // so the connection is served on the accepting thread rather than handed to the epoll thread.
        await using var a = new StandaloneAcceptor(TimeSpan.FromSeconds(10));
        using var client = await a.ConnectAsync();
        await WaitUntil(() => a.Started);
        await Task.Delay(200);
        Assert.Empty(a.Served);

        var request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray();
        await client.SendAsync(request);
        await WaitUntil(() => !a.Served.IsEmpty);
        Assert.Equal(request.Length, a.Served.Single());
    }

    [Fact]
    public async Task A_connection_that_sends_nothing_holds_the_accepting_thread_only_for_the_short_wait()
    {
        await using var a = new StandaloneAcceptor(IdleAcceptor.DefaultFirstBytesWait);
        using var silent = await a.ConnectAsync();
        await WaitUntil(() => a.Served.Count == 1);
        Assert.Equal(0, a.Served.Single());

        // The thread is free again: the next connection, whose request is there, is accepted and served.
        using var next = await a.ConnectAsync();
        await next.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        await WaitUntil(() => a.Served.Count == 2);
    }

    [Fact]
    public async Task After_a_wait_that_timed_out_the_next_silent_connection_costs_the_thread_no_wait()
    {
        // A flood of connections that send nothing must not cost the thread a wait each (1,000 of them at the
        // default wait were a second of a sync worker's time): after one wait times out, the next only looks.
        await using var a = new StandaloneAcceptor(TimeSpan.FromSeconds(2));
        using var first = await a.ConnectAsync();
        await WaitUntil(() => a.Served.Count == 1);

        var clock = Stopwatch.StartNew();
        using var second = await a.ConnectAsync();
        await WaitUntil(() => a.Served.Count == 2);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.5), $"the second silent connection held the thread {clock.Elapsed}");
        Assert.All(a.Served, n => Assert.Equal(0, n));
    }

    [Fact]
    public async Task The_accepting_thread_does_not_wait_for_a_new_connection_while_a_queued_request_waits_for_it()
    {
        await using var a = new StandaloneAcceptor(TimeSpan.FromSeconds(60), held: true);
        // A keep-alive connection's request was queued (the wake) and a new, silent connection came in: the
        // thread finds both in one poll, and hands the new connection on at once to run the queued request.
        a.Acceptor.Wake();
        using var silent = await a.ConnectAsync();
        a.Go();
        await WaitUntil(() => !a.Served.IsEmpty);
        Assert.Equal(0, a.Served.Single());
    }

    [Fact]
    public async Task A_request_sent_after_the_wait_is_still_answered()
    {
        // The silent connection was handed on after the short wait; its request, when it comes, takes the
        // ordinary path (the epoll thread reads it and queues it for the Python thread).
        var ranInAcceptor = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>();
        await using var h = new WorkerHarness((request, response) =>
        {
            ranInAcceptor[request.RawUri] = new StackTrace().GetFrames().Any(f => f.GetMethod()?.DeclaringType == typeof(IdleAcceptor));
            FakeApp.Ok(request, response);
        }, Sync);

        using var late = await h.ConnectAsync();
        await Task.Delay(300);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await h.ExchangeAsync("GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", Wait), StringComparison.Ordinal);
        await late.SendAsync("GET /late HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await WorkerHarness.ReadUntilClosedAsync(late, Wait), StringComparison.Ordinal);
        Assert.False(ranInAcceptor["/late"]);
    }

    [Fact]
    public async Task A_pipelining_client_does_not_keep_the_accepting_thread_from_a_new_connection()
    {
        // The accepting thread runs its connection's requests itself while they are there: 2,000 pipelined
        // requests of a millisecond each kept a connection that came after them in the listen queue for 2 s.
        const int Pipelined = 2000;
        await using var h = new WorkerHarness(SlowUnderSlash, Sync);
        using var greedy = await h.ConnectAsync();
        await greedy.SendAsync(Encoding.Latin1.GetBytes(string.Concat(Enumerable.Repeat("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", Pipelined))));
        var drained = WorkerHarness.ReadUntilClosedAsync(greedy, Wait);
        await WaitUntil(() => h.Worker.RequestCount >= 10);

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", Wait), StringComparison.Ordinal);
        var servedBefore = h.Worker.RequestCount;
        Assert.True(servedBefore < Pipelined / 2, $"the new connection was answered after {servedBefore} pipelined requests");
        greedy.Shutdown(SocketShutdown.Both);
        await drained;
    }

    [Fact]
    public async Task Busy_keep_alive_connections_do_not_keep_a_new_connection_in_the_listen_queue()
    {
        // Eight clients that send their next request as soon as they have the answer keep requests queued at all
        // times, so the thread never went back to accepting: a new connection waited until they all stopped.
        using var stop = new CancellationTokenSource();
        await using var h = new WorkerHarness(SlowUnderSlash, Sync);
        var busy = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            using var s = await h.ConnectAsync();
            while (!stop.IsCancellationRequested)
            {
                await s.SendAsync("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
                Assert.Single(await WorkerHarness.ReadResponsesAsync(s, 1));
            }
        })).ToArray();
        await WaitUntil(() => h.Worker.RequestCount >= 100);

        var before = h.Worker.RequestCount;
        var answer = await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", Wait);
        var servedMeanwhile = h.Worker.RequestCount - before;
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", answer, StringComparison.Ordinal);
        // Its turn comes after the requests queued when it is accepted, a few milliseconds' worth (thousands before).
        Assert.True(servedMeanwhile < 100, $"the new connection was answered after {servedMeanwhile} other requests");
        stop.Cancel();
        await Task.WhenAll(busy);
    }

    private static void SlowUnderSlash(WsgiRequest request, IResponseSink response)
    {
        if (request.RawUri == "/slow")
        {
            Thread.Sleep(1);
        }

        FakeApp.Ok(request, response);
    }

    private static void Sync(Wsgi.Config.Settings s)
    {
        s.Set("worker_class", "sync");
        s.Set("threads", 1);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < Wait, "condition not met in time");
            await Task.Delay(10);
        }
    }
}
