using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Core;

/// <summary><c>worker_heap_limit</c> reaches the workers' runtime as the GC variables .NET reads at start.</summary>
public sealed class WorkerHeapLimitTests
{
    // The GC variables a worker process starts with, one NAME=VALUE a line. Spawned: a forked worker's /proc shows the
    // zygote's environment, and the worker takes them out of its own before the app runs (the master hands a forked
    // worker the same dictionary).
    private static string WorkerGcEnvironment(IDictionary<string, string>? env, params string[] args)
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(env, ["pyfixtures.hello:app", "--worker-start", "spawn", "-b", $"127.0.0.1:{port}", .. args]);
        server.WaitUntilServing(port);
        var worker = Assert.Single(server.Workers());
        return string.Concat(UnicornServer.EnvironmentOf(worker).Where(e => e.Key.StartsWith("DOTNET_GC", StringComparison.Ordinal))
            .OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}\n"));
    }

    [Fact]
    public void A_size_becomes_the_workers_hard_heap_limit()
    {
        var body = WorkerGcEnvironment(null, "--worker-heap-limit", "64M");
        Assert.Contains("DOTNET_GCHeapHardLimit=0x4000000\n", body, StringComparison.Ordinal);
        Assert.Contains("DOTNET_GCgen0size=0x200000\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public void A_worker_at_a_small_limit_holding_many_slow_clients_lives()
    {
        // 20 clients that never read a 200 MiB stream, under the smallest limit: each holds what the greenlet
        // host keeps for a connection. In .NET's 4 MiB regions the worker died of SIGSEGV in two runs of three.
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.greenlet_apps:app", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", "gevent",
            "--no-control-socket", "--worker-heap-limit", "16M");
        server.WaitUntilServing(port, 120);
        var worker = Assert.Single(server.Workers());
        var clients = new List<System.Net.Sockets.Socket>();
        try
        {
            for (var i = 0; i < 20; i++)
            {
                var client = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp)
                {
                    ReceiveBufferSize = 4096,
                };
                clients.Add(client);
                client.Connect(System.Net.IPAddress.Loopback, port);
                client.Send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"u8);
            }

            Thread.Sleep(5000);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }

        Assert.Equal((200, "hello\n"), UnicornServer.Get(port, "/", 30));
        Assert.Equal([worker], server.Workers());
        Assert.DoesNotContain("SIGSEGV", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void Unlimited_leaves_the_runtime_its_own_defaults()
    {
        Assert.Equal("", WorkerGcEnvironment(null, "--worker-heap-limit", "unlimited"));
    }

    [Fact]
    public void The_users_own_gc_variable_wins()
    {
        var body = WorkerGcEnvironment(new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x8000000" }, "--worker-heap-limit", "64M");
        Assert.Contains("DOTNET_GCHeapHardLimit=0x8000000\n", body, StringComparison.Ordinal);
        Assert.DoesNotContain("0x4000000", body, StringComparison.Ordinal);
    }
}
