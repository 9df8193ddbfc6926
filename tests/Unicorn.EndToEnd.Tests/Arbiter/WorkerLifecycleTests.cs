using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>Worker processes as operators drive them: count, replacement, timeout, TTIN/TTOU (recycling: RecyclingTests).</summary>
public class WorkerLifecycleTests
{
    private const string App = "pyfixtures.arbiter_app:app";

    [Fact]
    public void WorkersFlagAndTtinTtouSetTheWorkerCountNeverBelowOne()
    {
        var port = FreePort();
        using var server = Start("-w", "2", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForLog("Booting worker with pid:", 2);
        server.WaitForWorkers(2);

        server.Signal(SIGTTIN);
        server.WaitForWorkers(3);
        server.WaitForLog("Booting worker with pid:", 3);

        for (var i = 0; i < 4; i++)
        {
            server.Signal(SIGTTOU);
            Thread.Sleep(300);
        }

        server.WaitForWorkers(1);
        Thread.Sleep(1500);
        Assert.Single(server.Workers());
        Assert.Equal(200, Get(port, "/").Status);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void WorkersRunSocketCompletionsInlineOnOneEpollThreadWithoutDiagnosticsUnlessTheUserSaysOtherwise()
    {
        var port = FreePort();
        using (var server = Start("-w", "1", "-b", $"127.0.0.1:{port}", App))
        {
            server.WaitUntilServing(port);
            var worker = Assert.Single(server.Workers());
            Assert.Equal("1", EnvironmentOf(worker).GetValueOrDefault("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"));
            Assert.Equal("1", EnvironmentOf(worker).GetValueOrDefault("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT"));
            // .NET would start one per core otherwise (inline completions).
            Assert.Equal(1, EpollThreads(worker));
            // No debugger pipes or diagnostics socket: a killed worker would leave them behind.
            Assert.Empty(DiagnosticsFiles(worker));
            server.Signal(SIGTERM);
            Assert.Equal(0, server.WaitForExit());
        }

        var theirs = new Dictionary<string, string>
        {
            ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "0",
            ["DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT"] = "3",
            ["DOTNET_EnableDiagnostics"] = "1",
        };
        // The user's choices win; the native build has no diagnostics socket to open, whatever they say (deploy.md).
        foreach (var jit in NativeBuild ? new[] { false, true } : [true])
        {
            port = FreePort();
            using var server = Start(jit ? JitBuild(theirs) : theirs, "-w", "1", "-b", $"127.0.0.1:{port}", App);
            server.WaitUntilServing(port);
            var worker = Assert.Single(server.Workers());
            Assert.Equal("0", EnvironmentOf(worker).GetValueOrDefault("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"));
            Assert.Equal(3, EpollThreads(worker));
            Assert.Equal(jit, DiagnosticsFiles(worker).Length > 0);
            server.Signal(SIGTERM);
            Assert.Equal(0, server.WaitForExit());
        }
    }

    [Theory]
    [InlineData("fork")]
    [InlineData("spawn")]
    public void WhatTheAppStartsInheritsTheMastersEnvironmentNotWhatTheMasterHandedItsWorker(string workerStart)
    {
        var port = FreePort();
        var theirs = new Dictionary<string, string>
        {
            ["THEIR_VARIABLE"] = "kept",
            ["DOTNET_GCgen0size"] = "0x400000", // one the master would otherwise add: theirs stays
            ["UNICORN_CHILD_PROGRAM"] = Path.Combine(RepoRoot, "unicorn"),
        };
        using var server = Start(theirs, "-w", "1", "--worker-start", workerStart, "-e", "FROM_FLAG=set", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        if (workerStart == "spawn")
        {
            // What the worker process started with (a forked one's /proc shows the zygote's).
            var handedOver = EnvironmentOf(Assert.Single(server.Workers()));
            Assert.Equal("1", handedOver.GetValueOrDefault("UNICORN_WORKER"));
            Assert.Equal("0", handedOver.GetValueOrDefault("DOTNET_EnableDiagnostics"));
        }

        var child = Get(port, "/child-env", 30).Body.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal("kept", child.GetValueOrDefault("THEIR_VARIABLE"));
        Assert.Equal("set", child.GetValueOrDefault("FROM_FLAG"));
        Assert.Equal("0x400000", child.GetValueOrDefault("DOTNET_GCgen0size"));
        Assert.StartsWith("unicorn/", child.GetValueOrDefault("SERVER_SOFTWARE"), StringComparison.Ordinal); // Gunicorn's master sets its own
        // Every UNICORN_ and DOTNET_ variable the child has, the master had.
        var masters = Environment.GetEnvironmentVariables().Keys.Cast<string>().Concat(theirs.Keys).ToHashSet();
        var inherited = child.Keys.Where(name => name.StartsWith("UNICORN_", StringComparison.Ordinal) || name.StartsWith("DOTNET_", StringComparison.Ordinal))
            .Where(name => !masters.Contains(name)).ToList();
        Assert.True(inherited.Count == 0, $"a child of the app inherited {string.Join(", ", inherited)}");
        Assert.Equal("", Get(port, "/env?name=UNICORN_SETTINGS").Body); // nor does the app see them
        Assert.StartsWith("unicorn/", Get(port, "/env?name=SERVER_SOFTWARE").Body, StringComparison.Ordinal);

        // A unicorn the app runs is a program of its own, not a second worker of this master.
        var version = Get(port, "/child-version", 120).Body;
        Assert.StartsWith("0\n", version);
        Assert.Contains("unicorn (version", version);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void A_worker_that_cannot_be_started_is_tried_again_a_second_later_and_served_once_it_can()
    {
        // The program workers are spawned from vanishes (an upgrade replacing its directory): each spawn's child exits
        // at once, and its SIGCHLD woke the master straight into the next attempt, 1,700 error lines a second.
        EnsureBuilt();
        var program = Directory.CreateTempSubdirectory("unicorn-program-").FullName;
        var moved = program + "-moved";
        try
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(RepoRoot, ".build", "unicorn"), "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(program, Path.GetRelativePath(Path.Combine(RepoRoot, ".build", "unicorn"), file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }

            var port = FreePort();
            var env = new Dictionary<string, string?> { ["UNICORN_PYTHON"] = "/usr/bin/python3", ["GUNICORN_CMD_ARGS"] = null };
            using var server = StartProgram(Path.Combine(program, "unicorn"), RepoRoot, env,
                "--worker-start", "spawn", "-w", "1", "--no-control-socket", "-b", $"127.0.0.1:{port}", App);
            server.WaitUntilServing(port);
            var worker = Assert.Single(server.Workers());
            Directory.Move(program, moved);
            Signal(worker, SIGKILL);
            server.WaitForLog("Cannot start a worker", 1, 30);
            Thread.Sleep(3000);
            Assert.InRange(server.Count("Cannot start a worker"), 1, 6);

            Directory.Move(moved, program);
            Assert.True(Poll(() => TryGet(port, "/") == 200, 30), server.Log);
            server.Signal(SIGTERM);
            Assert.Equal(0, server.WaitForExit());
        }
        finally
        {
            foreach (var dir in new[] { program, moved }.Where(Directory.Exists))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    // What .NET's debugger and diagnostics server create for a process in $TMPDIR (removed at a clean exit only).
    // The names carry the process's start time beside its pid, which tells this worker's files from those an earlier
    // process with the same pid left behind.
    private static string[] DiagnosticsFiles(int pid)
    {
        var tmp = Environment.GetEnvironmentVariable("TMPDIR") is { Length: > 0 } dir ? dir : "/tmp";
        var process = $"{pid}-{StartTime(pid)}-";
        return [.. Directory.GetFiles(tmp, $"dotnet-diagnostic-{process}*"), .. Directory.GetFiles(tmp, $"clr-debug-pipe-{process}*")];
    }

    // Field 22 of /proc/PID/stat, in clock ticks since boot; counted after the command name, which may hold spaces.
    private static string StartTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19];
    }

    private static int EpollThreads(int pid) =>
        Directory.GetDirectories($"/proc/{pid}/task").Count(task => ThreadName(task) == ".NET Sockets");

    private static string ThreadName(string task)
    {
        try
        {
            return File.ReadAllText(Path.Combine(task, "comm")).Trim();
        }
        catch (IOException)
        {
            return ""; // the thread ended after the listing
        }
    }

    [Fact]
    public void AQuietWorkerReturnsItsFreeMemoryOncePerQuietSpell()
    {
        const string Settled = "returned its free memory";
        var port = FreePort();
        using var server = Start("-w", "1", "--log-level", "debug", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForLog(Settled, 1, seconds: 30);

        // Quiet on: nothing more to return, so nothing more is done.
        Thread.Sleep(TimeSpan.FromSeconds(7));
        Assert.Equal(1, server.Count(Settled));

        Assert.Equal(200, Get(port, "/").Status);
        server.WaitForLog(Settled, 2, seconds: 30);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void NeitherWorkersNorTheMasterTierWithProfileGuidance()
    {
        // The JIT build's runtimeconfig turns TieredPGO off (the master's instrumented code grew for hours, one
        // reload path at a time: bench/results/soak-trends.md; a worker's cost 5-8 MiB under load: findings.md), and
        // workers, which start from the same file, are not given it back in their environment. (The native build
        // has no JIT to tier.)
        var jit = JitBuild();
        var config = File.ReadAllText(Path.Combine(JitBuildDirectory, "unicorn.runtimeconfig.json"));
        Assert.Contains("\"System.Runtime.TieredPGO\": false", config, StringComparison.Ordinal);

        var port = FreePort();
        using var server = Start(jit, "-w", "1", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        var worker = Assert.Single(server.Workers());
        Assert.False(EnvironmentOf(worker).ContainsKey("DOTNET_TieredPGO"));
        Assert.False(EnvironmentOf(server.Pid).ContainsKey("DOTNET_TieredPGO"));
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public async Task AStopThatOutlastsTheGracefulTimeoutKillsTheWorkerWithoutBlamingMemory()
    {
        var port = FreePort();
        // The worker ends a request it cannot wait for a little before graceful_timeout and leaves by itself; one
        // whose worker_exit hangs cannot leave, and is killed.
        using var server = Start("-w", "1", "--graceful-timeout", "1", "-c", Path.Combine(RepoRoot, "pyfixtures", "stuck_worker_exit_conf.py"),
            "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        var worker = Assert.Single(server.Workers());
        var mark = Path.Combine(Path.GetTempPath(), $"unicorn-in-flight-{Guid.NewGuid():N}");
        var slow = Task.Run(() => TryGet(port, $"/sleep?s=20&mark={mark}"));
        Assert.True(UnicornServer.Poll(() => File.Exists(mark), 30), "the request did not reach the app");
        File.Delete(mark);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
        Assert.False(Directory.Exists($"/proc/{worker}"));
        // "Perhaps out of memory?" is for a SIGKILL the master did not send; this one it says it sends.
        Assert.DoesNotContain("Perhaps out of memory", server.Log, StringComparison.Ordinal);
        Assert.Contains($"[WARNING] Worker (pid:{worker}) did not exit within graceful_timeout (1 s): sending SIGKILL", server.Log, StringComparison.Ordinal);
        Assert.Contains("Shutting down: Master", server.Log, StringComparison.Ordinal);
        await slow.WaitAsync(TimeSpan.FromSeconds(15));
    }

    [Fact]
    public void UnderMemoryPressureTheKernelKillsAWorkerBeforeTheMaster()
    {
        var port = FreePort();
        using var server = Start("-w", "2", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(2);
        var master = int.Parse(File.ReadAllText($"/proc/{server.Pid}/oom_score_adj").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        foreach (var worker in server.Workers())
        {
            Assert.True(Poll(() => File.ReadAllText($"/proc/{worker}/oom_score_adj").Trim() == Math.Min(1000, master + 100).ToString(System.Globalization.CultureInfo.InvariantCulture), 30),
                $"worker {worker}: oom_score_adj {File.ReadAllText($"/proc/{worker}/oom_score_adj").Trim()}, master {master}");
        }

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void AKilledWorkerIsReplaced()
    {
        var port = FreePort();
        using var server = Start("-w", "1", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(1);
        var old = int.Parse(Get(port, "/pid").Body);

        Signal(old, SIGKILL);

        server.WaitForLog($"Worker (pid:{old}) was sent SIGKILL! Perhaps out of memory?");
        server.WaitForLog("Booting worker with pid:", 2);
        Assert.True(Poll(() => TryPid(port) is { } pid && pid != old, 20), server.Log);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void ARequestBeyondTheTimeoutIsAnswered500WithItsStackLoggedAndTheWorkerReplaced()
    {
        var port = FreePort();
        using var server = Start("-w", "1", "-t", "2", "--access-logfile", "-", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(1);
        var stuck = int.Parse(Get(port, "/pid").Body);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (status, body) = Get(port, "/sleep?s=30", timeoutSeconds: 20);
        clock.Stop();
        // Gunicorn 26.1's sync worker: the ABRT raises SystemExit in the app, answered as any error is.
        Assert.Equal(500, status);
        Assert.Contains("<h1><p>Internal Server Error</p></h1>", body, StringComparison.Ordinal);
        server.WaitForLog("Error handling request GET /sleep?s=30");
        server.WaitForLog("\"GET /sleep?s=30 HTTP/1.0\" 500 0");
        // Timed from the request's start (the heartbeat is dated when the thread took it), as Gunicorn's: never
        // before the timeout, and not a beat interval or more after it (a loaded machine may add some).
        Assert.InRange(clock.Elapsed.TotalSeconds, 2.0, 5.0);

        server.WaitForLog($"WORKER TIMEOUT (pid:{stuck})");
        // The worker logs the Python stack of the stuck request: the app's frame, inside time.sleep.
        server.WaitForLog("arbiter_app.py\", line");
        var afterTimeout = server.Log[server.Log.IndexOf("WORKER TIMEOUT", StringComparison.Ordinal)..];
        Assert.Contains("arbiter_app.py\", line", afterTimeout, StringComparison.Ordinal);
        // The request's error line carries the stack of the thread that served it.
        var errorLine = server.Log[server.Log.IndexOf("Error handling request", StringComparison.Ordinal)..];
        Assert.Contains("arbiter_app.py\", line", errorLine[..errorLine.IndexOf("\" 500 0", StringComparison.Ordinal)], StringComparison.Ordinal);
        Assert.True(Poll(() => TryPid(port) is { } pid && pid != stuck, 20), server.Log);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public async Task AGthreadWorkerWhoseThreadsAllRunPastTheTimeoutIsNotAborted()
    {
        // Gunicorn's gthread worker beats whatever its threads do: `timeout` is liveness there, and a long export
        // on every thread is answered. Unicorn used to abort the worker and lose both requests.
        var port = FreePort();
        using var server = Start("-w", "1", "-k", "gthread", "--threads", "2", "-t", "2", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(1);

        var both = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() => Get(port, "/sleep?s=5", timeoutSeconds: 30))));

        Assert.All(both, r => Assert.Equal((200, "slept"), r));
        Assert.DoesNotContain("WORKER TIMEOUT", server.Log, StringComparison.Ordinal);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public async Task GracefulTermLetsTheInFlightRequestFinishAndExitsZero()
    {
        var port = FreePort();
        using var server = Start("-w", "1", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(1);
        Get(port, "/");

        // TERM once the request is in the app, not after a fixed time: on a loaded machine the connect could come
        // after the TERM and be refused.
        var mark = Path.Combine(Path.GetTempPath(), $"unicorn-in-flight-{Guid.NewGuid():N}");
        var inFlight = Task.Run(() => Get(port, $"/sleep?s=2&mark={mark}", 30));
        Assert.True(UnicornServer.Poll(() => File.Exists(mark), 30), "the request did not reach the app");
        File.Delete(mark);
        server.Signal(SIGTERM);

        var (status, body) = await inFlight;
        Assert.Equal(200, status);
        Assert.Equal("slept", body);
        Assert.Equal(0, server.WaitForExit());
        Assert.Contains("Shutting down: Master", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AQuickStopAnswersTheRequestInTheApp500()
    {
        // Gunicorn 26.1's sync worker answers it from the SystemExit its QUIT handler raises in the app; the
        // connection used to close unanswered (nginx: 502).
        var port = FreePort();
        using var server = Start("-w", "1", "--access-logfile", "-", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(1);
        var mark = Path.Combine(Path.GetTempPath(), $"unicorn-in-flight-{Guid.NewGuid():N}");
        var inFlight = Task.Run(() => Get(port, $"/sleep?s=30&mark={mark}", 30));
        Assert.True(UnicornServer.Poll(() => File.Exists(mark), 30), "the request did not reach the app");
        File.Delete(mark);

        server.Signal(SIGQUIT);

        var (status, body) = await inFlight;
        Assert.Equal(500, status);
        Assert.Contains("Internal Server Error", body, StringComparison.Ordinal);
        Assert.Equal(0, server.WaitForExit());
        Assert.Contains("Error handling request GET /sleep?s=30", server.Log, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.0\" 500 0", server.Log, StringComparison.Ordinal);
    }

    /// <summary>
    /// As Gunicorn's master and workers close their listeners at a stop: a connection made while the last request
    /// finishes is refused at once (a load balancer retries it elsewhere), not left in the listen queue, unanswered,
    /// until the worker exits (the zygote and the worker held the socket, for graceful_timeout at most).
    /// </summary>
    [Theory]
    [InlineData("sync")]
    [InlineData("gevent")]
    public async Task AGracefulStopRefusesNewConnectionsAtOnceWhileTheInFlightRequestFinishes(string workerClass)
    {
        var port = FreePort();
        using var server = Start("-w", "1", "-k", workerClass, "--graceful-timeout", "15", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(1);
        // Wait for the request to reach the app, not a fixed time: under load the client's connect could come after
        // the TERM, and be refused like the connections the test expects to be.
        var mark = Path.Combine(Path.GetTempPath(), $"unicorn-in-flight-{Guid.NewGuid():N}");
        var inFlight = Task.Run(() => Get(port, $"/sleep?s=6&mark={mark}", 30));
        Assert.True(UnicornServer.Poll(() => File.Exists(mark), 30), "the request did not reach the app");
        File.Delete(mark);

        server.Signal(SIGTERM);
        var since = System.Diagnostics.Stopwatch.StartNew();
        string? last = null;
        while (since.Elapsed < TimeSpan.FromSeconds(2) && (last = NewConnection(port)) != "refused")
        {
            Thread.Sleep(100);
        }

        Assert.True(last == "refused", $"{workerClass}: a new connection 2 s into the stop: {last}\n{server.Log}");
        var (status, body) = await inFlight;
        Assert.Equal((200, "slept"), (status, body));
        Assert.Equal(0, server.WaitForExit());
    }

    // A connection that never sends a request (a browser's preconnect, a load balancer's spare connection) used to hold
    // the stop for timeout, so the master SIGKILLed the worker at graceful_timeout and worker_exit never ran.
    [Theory]
    [InlineData("sync")]
    [InlineData("gthread")]
    public void A_silent_connection_does_not_hold_a_graceful_stop(string workerClass)
    {
        var port = FreePort();
        using var server = Start("-w", "1", "-k", workerClass, "--graceful-timeout", "20", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(1);
        using var silent = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        silent.Connect(System.Net.IPAddress.Loopback, port);
        Thread.Sleep(500);

        var since = System.Diagnostics.Stopwatch.StartNew();
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
        Assert.True(since.Elapsed < TimeSpan.FromSeconds(10), $"{workerClass}: the stop took {since.Elapsed}\n{server.Log}");
        Assert.DoesNotContain("SIGKILL", server.Log, StringComparison.Ordinal);
    }

    /// <summary>"refused", or what a connection got instead: "accepted" (into the queue) or the error.</summary>
    private static string NewConnection(int port)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        try
        {
            socket.Connect(System.Net.IPAddress.Loopback, port);
            return "accepted";
        }
        catch (System.Net.Sockets.SocketException e)
        {
            return e.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionRefused ? "refused" : e.SocketErrorCode.ToString();
        }
    }

    private static int? TryPid(int port)
    {
        try
        {
            return int.Parse(Get(port, "/pid", 5).Body);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or FormatException)
        {
            return null;
        }
    }
}
