using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.AsyncWorkers;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Asgi;

/// <summary>Websockets across a worker's life: frameworks' routes, 10,000 idle websockets, 1001 Going Away on a graceful stop.</summary>
public sealed class WebSocketLifecycleTests
{
    [Fact]
    public void Starlette_endpoint_fastapi_route_and_channels_consumer_echo()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("ws_frameworks:app", "--chdir", "pyfixtures/asgi", "-k", "uvicorn.workers.UvicornWorker", "-b", $"127.0.0.1:{port}");
        var channelsPort = UnicornServer.FreePort();
        using var channels = UnicornServer.Start("ws_frameworks:channels_app", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-b", $"127.0.0.1:{channelsPort}");
        server.WaitUntilResponding(port, "/");
        channels.WaitUntilResponding(channelsPort, "/");

        var lines = WebSocketClient.Run(port, "frameworks");
        Assert.Contains("fastapi bob: hi", lines);
        Assert.Contains("starlette: hi", lines);
        server.WaitForLog("fastapi disconnect 1000");
        server.WaitForLog("starlette disconnect 1000");

        Assert.Contains("channels: hi", WebSocketClient.Run(channelsPort, "channels"));
        channels.WaitForLog("channels disconnect 1000");
    }

    [Fact]
    public void On_a_fresh_worker_accept_returns_before_a_message_sent_after_the_101_is_handled()
    {
        // FastAPI's tutorial chat adds a websocket to its broadcast list when accept() returns. The 101 used to go out
        // before the websocket's set-up (slow on a fresh worker, JIT), so a message the client sent on another
        // connection once it had the 101 was broadcast before accept() returned, and the new client missed it.
        for (var i = 0; i < 3; i++)
        {
            var port = UnicornServer.FreePort();
            using var server = UnicornServer.Start("ws_frameworks:app", "--chdir", "pyfixtures/asgi", "-k", "uvicorn.workers.UvicornWorker", "-b", $"127.0.0.1:{port}");
            server.WaitUntilResponding(port, "/");

            var lines = WebSocketClient.Run(port, "chat");
            Assert.Contains("a got Client #1 says: hi", lines);
            Assert.Contains("b got Client #1 says: hi", lines);
        }
    }

    [Fact]
    public void A_quart_websocket_that_receives_before_the_handshake_is_answered_waits_for_it_and_echoes()
    {
        // Quart reads the client's messages in a task of its own from the start, before its handler accepts; a
        // receive() then waits for the handshake, as under uvicorn, where it used to fail the app.
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("ws_quart:app", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");

        var lines = WebSocketClient.Run(port, "quart");

        Assert.Equal(3, lines.Count(l => l == "quart: hi"));
        Assert.Equal(3, lines.Count(l => l == "quart: again"));
        Assert.Contains("refused status 403", lines);
        Assert.DoesNotContain(server.Lines, l => l.Contains("ASGI application", StringComparison.Ordinal));
    }

    [Fact]
    public void Ten_thousand_idle_websockets_keep_the_worker_small_and_a_newcomer_is_served_at_once()
    {
        const int Count = 10_000;
        // Both ends hold 10,000 sockets; the server and the client inherit this process's limit.
        FileLimit.EnsureAtLeast(Count + 2_000);
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(
            "ws_app:app", "--chdir", "pyfixtures/asgi", "-k", "asgi", "--worker-connections", $"{Count + 100}", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");
        var worker = server.Workers().Single();
        var before = RssKiB(worker);

        using var client = WebSocketClient.Start(port, "idle", new Dictionary<string, string> { ["COUNT"] = $"{Count}" });
        client.WaitForLine($"open {Count}", 240);
        Thread.Sleep(2000);
        var held = RssKiB(worker) - before;
        var threads = Directory.GetDirectories($"/proc/{worker}/task").Length;

        // A plain request while they are all open is answered at once.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (status, _) = UnicornServer.Get(port, "/", 30);
        var requestMs = clock.ElapsedMilliseconds;
        client.Continue();
        client.WaitForLine("all answer", 120);
        client.WaitForExit(240);
        var newcomer = client.Lines.Single(l => l.StartsWith("newcomer echoed ms ", StringComparison.Ordinal));
        var newcomerMs = int.Parse(newcomer["newcomer echoed ms ".Length..], System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(200, status);
        // "At once" on a loaded 2-core machine: well under a second, where a worker scanning its sockets would take many.
        Assert.True(requestMs < 1000, $"a request took {requestMs} ms with {Count} idle websockets open");
        Assert.True(newcomerMs < 1000, $"a new websocket's echo took {newcomerMs} ms with {Count} idle websockets open");
        // Each idle websocket holds a pending zero-byte .NET receive (no receive block), its connection's objects and the
        // app's await, and no thread: about 16 KiB each measured (163 MiB for 10,000, 2026-12-05; 38 KiB before the
        // response buffer was rented on first write and the receive block once a frame begins); 25 KiB leaves room
        // for GC timing while still failing if either buffer came back.
        Assert.True(held < Count * 25L, $"{Count} idle websockets grew the worker by {held} KiB");
        Assert.True(threads < 100, $"{Count} idle websockets ran on {threads} threads");
        Assert.Equal([worker], server.Workers());
    }

    [Fact]
    public void A_websocket_over_tls_is_a_wss_scope()
    {
        using var certs = new TestCertificates();
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(
            "ws_app:app", "--chdir", "pyfixtures/asgi", "-k", "asgi", "--certfile", certs.ServerCert, "--keyfile", certs.ServerKey,
            "-b", $"127.0.0.1:{port}");
        server.WaitForLog("Booting worker", 1, 60);

        using var client = WebSocketClient.Start(port, "wss", new Dictionary<string, string> { ["CA"] = certs.CaCert });
        client.WaitForExit(120);
        Assert.Contains("wss over tls", client.Lines);
        Assert.Contains("scope wss /echo ['websocket.http.response']", client.Lines);
    }

    [Fact]
    public void A_graceful_stop_closes_open_websockets_with_1001_going_away()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("ws_app:app", "--chdir", "pyfixtures/asgi", "-k", "asgi", "--graceful-timeout", "20", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");

        using var client = WebSocketClient.Start(port, "going-away");
        client.WaitForLine("connected");
        server.Signal(UnicornServer.SIGTERM);
        client.WaitForLine("going away 1001 ", 30);
        client.WaitForExit(30);
        server.WaitForLog("client closed 1001");
        Assert.Equal(0, server.WaitForExit(30));
    }

    private static long RssKiB(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
