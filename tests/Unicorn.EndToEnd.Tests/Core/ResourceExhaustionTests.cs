using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Core;

/// <summary>What a server does when the process runs out of something (`ulimit`), as happens in containers.</summary>
public sealed class ResourceExhaustionTests
{
    [Theory]
    [InlineData("sync")]
    [InlineData("gthread")]
    [InlineData("asgi")]
    public void A_worker_out_of_descriptors_waits_without_spinning_and_accepts_again_once_some_close(string workerClass)
    {
        // 160 descriptors: the worker's runtime holds about 90 of them, so 250 held connections run it out at accept(2).
        var app = workerClass == "asgi" ? "pyfixtures.bench_asgi:hello" : "pyfixtures.bench_apps:hello";
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.StartInShell("ulimit -n 160;", [app, "-b", $"127.0.0.1:{port}", "-w", "1", "-k", workerClass, "--no-control-socket"]);
        server.WaitUntilServing(port, 120);
        var worker = Assert.Single(server.Workers());
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < 250; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                held.Add(socket);
                socket.Connect(IPAddress.Loopback, port);
                socket.Send(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n")); // a head that never ends
            }

            server.WaitForLog("Error accepting a connection: too many open files");

            // The listener stays readable while nothing can be accepted: a loop that retried at once spun a CPU (0.4 s/s).
            // Measured from a second on, past the burst of connections accepted before the shortage.
            UnicornServer.Poll(() => false, 1);
            var before = CpuSeconds(worker, server);
            var window = Stopwatch.StartNew();
            UnicornServer.Poll(() => false, 3);
            var used = (CpuSeconds(worker, server) - before) / window.Elapsed.TotalSeconds;
            Assert.True(used < 0.2, $"the worker used {used:0.00} s of CPU a second while out of descriptors");

            // Connections stopped short of the limit: the runtime keeps a few descriptors to start a thread or
            // load a file (without them it aborts with "Out of memory."; the asgi worker did, now and then).
            var open = Directory.GetFiles($"/proc/{worker}/fd").Length;
            Assert.InRange(open, 100, 160 - 12);
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }

        server.WaitForLog("Accepting connections again");
        Assert.Equal(200, UnicornServer.Get(port, "/", 30).Status);
        Assert.Equal(worker, Assert.Single(server.Workers()));
        Assert.Equal(1, server.Count("Error accepting a connection"));
        Assert.DoesNotContain("Unhandled exception", server.Log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sync")]
    [InlineData("gthread")]
    [InlineData("asgi")]
    public void A_worker_keeps_serving_at_every_descriptor_limit_near_what_its_runtime_holds(string workerClass)
    {
        // The worker's runtime holds about 90 descriptors. Where it already reaches into the last 16 as it starts,
        // the worker keeps no headroom; a few limits higher, the runtime's own descriptors took the headroom only
        // after it was set, and the first connection, numbered into it, left the worker waiting for one of its
        // connections to close: one answer, then none ever again (ulimit -n 102-107 for sync, 104 gthread, 108 asgi).
        var app = workerClass == "asgi" ? "pyfixtures.bench_asgi:hello" : "pyfixtures.bench_apps:hello";
        for (var limit = 98; limit <= 110; limit += 2)
        {
            var port = UnicornServer.FreePort();
            using var server = UnicornServer.StartInShell($"ulimit -n {limit};", [app, "-b", $"127.0.0.1:{port}", "-w", "1", "-k", workerClass, "--no-control-socket"]);
            server.WaitUntilServing(port, 120);
            for (var i = 0; i < 5; i++)
            {
                Assert.True(UnicornServer.TryGet(port, "/") == 200, $"ulimit -n {limit}: request {i + 1} unanswered\n{server.Log}");
            }
        }
    }

    [Fact]
    public void Too_few_descriptors_to_start_is_one_line_and_exit_1()
    {
        // The JIT build's runtime alone holds about 90: the failure's own report must not need more of them. (The
        // native build serves with 64, and stops with the reason at 12: PublishTests.)
        UnicornServer.EnsureJitBuilt();
        using var server = UnicornServer.StartInShell("export UNICORN_BUILD=jit; ulimit -n 64;", ["pyfixtures.bench_apps:hello", "-b", $"127.0.0.1:{UnicornServer.FreePort()}", "--no-control-socket"]);
        Assert.Equal(1, server.WaitForExit(60));
        var line = Assert.Single(server.Lines, l => l.Length > 0);
        Assert.StartsWith("unicorn: ", line, StringComparison.Ordinal);
        Assert.Contains("open files", line, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void A_gthread_worker_refused_threads_serves_with_fewer_and_the_master_still_stops_cleanly()
    {
        // RLIMIT_NPROC counts threads, and binds only a user without CAP_SYS_RESOURCE: run as nobody. Master,
        // zygote and the worker's runtime take about 20 of 60, so 50 app threads cannot all start.
        var port = UnicornServer.FreePort();
        UnicornServer.EnsureBuilt();
        using var copy = NobodyReadableCopy();
        var binary = Path.Combine(copy.Path, "unicorn");
        using var server = UnicornServer.StartProgram("/bin/bash", copy.Path,
            new Dictionary<string, string?> { ["UNICORN_PYTHON"] = "/usr/bin/python3", ["GUNICORN_CMD_ARGS"] = null, ["WEB_CONCURRENCY"] = null },
            "-c", "ulimit -u 60; exec setpriv --reuid=nobody --regid=nogroup --clear-groups \"$0\" \"$@\"", binary,
            "bench_apps:hello", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", "gthread", "--threads", "50", "--no-control-socket");
        server.WaitForLog("threads: the system refused more", seconds: 120);
        server.WaitUntilServing(port, 60);
        var worker = Assert.Single(server.Workers());
        var answers = Enumerable.Range(0, 40).AsParallel().WithDegreeOfParallelism(40).Select(_ => UnicornServer.Get(port, "/", 30).Status).ToList();
        Assert.All(answers, status => Assert.Equal(200, status));
        Assert.Equal(worker, Assert.Single(server.Workers()));

        // Before, each worker died of an unhandled OutOfMemoryException at boot, and the master aborted at its stop.
        server.Signal(UnicornServer.SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.DoesNotContain("Unhandled exception", server.Log, StringComparison.Ordinal);
    }

    /// <summary>
    /// The build and the app in a directory of their own that nobody can read: the checkout may sit under a directory
    /// only root can enter (/root), and running as nobody is what makes RLIMIT_NPROC bind.
    /// </summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static TempCopy NobodyReadableCopy()
    {
        var dir = Directory.CreateTempSubdirectory("unicorn-nobody-").FullName;
        var build = Path.Combine(UnicornServer.RepoRoot, ".build", "unicorn");
        foreach (var file in Directory.EnumerateFiles(build, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(dir, Path.GetRelativePath(build, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        File.Copy(Path.Combine(UnicornServer.RepoRoot, "pyfixtures", "bench_apps.py"), Path.Combine(dir, "bench_apps.py"));
        foreach (var d in Directory.EnumerateDirectories(dir, "*", SearchOption.AllDirectories).Append(dir))
        {
            File.SetUnixFileMode(d, (UnixFileMode)0x1ED /* 0755 */);
        }

        File.SetUnixFileMode(Path.Combine(dir, "unicorn"), (UnixFileMode)0x1ED /* 0755 */);
        return new TempCopy(dir);
    }

    private sealed record TempCopy(string Path) : IDisposable
    {
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    // utime + stime of every thread, in seconds (USER_HZ is 100 on Linux).
    private static double CpuSeconds(int pid, UnicornServer server)
    {
        Assert.True(Directory.Exists($"/proc/{pid}/task"), $"worker {pid} is gone; log:\n{server.Log}");
        return Directory.EnumerateDirectories($"/proc/{pid}/task").Sum(task =>
        {
            var fields = File.ReadAllText(Path.Combine(task, "stat")).Split(')')[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(fields[11]) + long.Parse(fields[12]);
        }) / 100.0;
    }
}
