using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Unicorn.EndToEnd.Tests.Arbiter;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Dirty;

/// <summary>
/// Dirty arbiters end to end: an HTTP app written for Gunicorn's API (<c>from gunicorn.dirty import ...</c>,
/// where Gunicorn 26 is not installed) calls DirtyApps in the pool through the client and the stash.
/// </summary>
public sealed partial class DirtyArbiterTests
{
    private const string App = "pyfixtures.dirty_app:app";
    private const string Counter = "pyfixtures.dirty_app:Counter";
    private const string Heavy = "pyfixtures.dirty_app:Heavy";

    private static UnicornServer StartPool(int port, params string[] extra) =>
        Start([
            "-c", "pyfixtures/dirty_conf.py", "-b", $"127.0.0.1:{port}", "-w", "1",
            "--dirty-app", Counter, "--dirty-app", Heavy + ":1", "--dirty-workers", "2", .. extra, App,
        ]);

    private static JsonElement Call(int port, string path, int expectStatus = 200)
    {
        var (status, body) = Get(port, path, timeoutSeconds: 60);
        Assert.True(status == expectStatus, $"{path}: {status} {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    private static int DirtyArbiterPid(UnicornServer server)
    {
        server.WaitForLog("Spawned dirty arbiter (pid: ", seconds: 90);
        var line = server.Lines.First(l => l.Contains("Spawned dirty arbiter (pid: ", StringComparison.Ordinal));
        return int.Parse(ArbiterPid().Match(line).Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"dirty arbiter \(pid: (\d+)\)")]
    private static partial Regex ArbiterPid();

    /// <summary>
    /// The dirty arbiter and its workers serve no HTTP: they do not hold the listeners, which would keep a graceful
    /// stop's new connections queued (unanswered) until the dirty arbiter is stopped, after the HTTP workers.
    /// </summary>
    [Fact]
    public async Task AGracefulStopWithADirtyCallInFlightRefusesNewConnectionsAtOnce()
    {
        var port = FreePort();
        using var server = StartPool(port);
        server.WaitUntilResponding(port, "/square?x=7", seconds: 120);
        var arbiter = DirtyArbiterPid(server);
        var listening = File.ReadAllLines("/proc/net/tcp").Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .First(f => f[3] == "0A" && f[1].EndsWith(":" + port.ToString("X4", CultureInfo.InvariantCulture), StringComparison.Ordinal))[9];
        Assert.DoesNotContain(Directory.GetFiles($"/proc/{arbiter}/fd"), fd => new FileInfo(fd).LinkTarget == $"socket:[{listening}]");

        // Waits for the call to reach the dirty worker, not a fixed time: under load the client's connect could
        // otherwise come after the TERM and be refused itself.
        var mark = Path.Combine(Path.GetTempPath(), $"unicorn-dirty-in-flight-{Guid.NewGuid():N}");
        var inFlight = Task.Run(() => Get(port, $"/sleep?s=4&mark={mark}", 30));
        Assert.True(UnicornServer.Poll(() => File.Exists(mark), 30), "the call did not reach the dirty worker");
        File.Delete(mark);
        server.Signal(SIGTERM);
        Assert.True(UnicornServer.Poll(() => Refused(port), 2), "a new connection 2 s into the stop was not refused");
        Assert.Equal(200, (await inFlight).Status);
        Assert.Equal(0, server.WaitForExit());
    }

    private static bool Refused(int port)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        try
        {
            socket.Connect(System.Net.IPAddress.Loopback, port);
            return false;
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionRefused)
        {
            return true;
        }
    }

    [Fact]
    public void AnAppCallsDirtyAppsThatKeepStateWithPerAppAllocationHooksAndStash()
    {
        var port = FreePort();
        using var server = StartPool(port);
        server.WaitUntilResponding(port, "/square?x=7", seconds: 120);
        // The pool serves as soon as one dirty worker is up; the counts below need both.
        server.WaitForLog("hook: dirty_worker_init", times: 2, seconds: 60);

        Assert.Equal(49, Call(port, "/square?x=7").GetProperty("result").GetInt32());
        // Calls one at a time take turns between the idle workers (Gunicorn's round-robin), each keeping its own state.
        var calls = Enumerable.Range(0, 4).Select(_ => Call(port, "/incr?by=1").GetProperty("result"))
            .Select(r => (Pid: r.GetProperty("pid").GetInt32(), Count: r.GetProperty("count").GetInt32())).ToList();
        Assert.Equal(2, calls.Select(c => c.Pid).Distinct().Count());
        foreach (var mine in calls.GroupBy(c => c.Pid))
        {
            var counts = mine.Select(c => c.Count).ToList();
            Assert.Equal(Enumerable.Range(counts[0], counts.Count), counts);
        }

        // Heavy:1 is loaded in exactly one of the two dirty workers.
        Assert.Equal(1, server.Count($"apps {Counter},{Heavy}"));
        Assert.Equal(1, server.Count($"apps {Counter})"));
        var heavyPid = Call(port, "/heavy").GetProperty("result").GetInt32();
        Assert.Contains(server.Lines, l => l.Contains($"Spawned dirty worker (pid: {heavyPid}) with apps: {Counter}, {Heavy}", StringComparison.Ordinal));

        // ps shows Gunicorn's titles (setproctitle's), not the interpreter's bootstrap line with the module's source.
        Assert.Equal("unicorn: dirty-arbiter", File.ReadAllText($"/proc/{DirtyArbiterPid(server)}/cmdline").TrimEnd('\0'));
        Assert.Equal($"unicorn: dirty-worker [{App}]", File.ReadAllText($"/proc/{heavyPid}/cmdline").TrimEnd('\0'));

        // The app's exception reaches the caller as DirtyAppError, with the worker still serving.
        var failed = Call(port, "/fail", 500);
        Assert.Equal("DirtyAppError", failed.GetProperty("type").GetString());
        Assert.Contains("boom", failed.GetProperty("error").GetString(), StringComparison.Ordinal);

        var stashed = Call(port, "/stash?k=user&v=alice").GetProperty("result");
        Assert.Equal("alice", stashed.GetProperty("got").GetString());
        Assert.Equal("dflt", stashed.GetProperty("missing").GetString());

        Assert.Equal(1, server.Count("hook: on_dirty_starting"));
        Assert.Equal(2, server.Count("hook: dirty_post_fork"));
        Assert.Equal(2, server.Count("hook: dirty_worker_init"));

        // The hooks read the settings as Gunicorn's Config: arbiter.cfg.dirty_apps, worker.cfg.dirty_timeout.
        Assert.Equal(1, server.Count($"apps ['{Counter}', '{Heavy}:1'], workers 2)"));
        Assert.Equal(2, server.Count(", timeout 300)"));
    }

    [Fact]
    public void AKilledDirtyWorkerIsRespawnedAndAStuckCallTimesOut()
    {
        var port = FreePort();
        using var server = StartPool(port, "--dirty-timeout", "2");
        server.WaitUntilResponding(port, "/square?x=1", seconds: 120);

        var victim = Call(port, "/incr").GetProperty("result").GetProperty("pid").GetInt32();
        Signal(victim, SIGKILL);
        server.WaitForLog($"hook: dirty_worker_exit (worker {victim})", seconds: 30);
        server.WaitForLog("Spawned dirty worker (pid: ", times: 3, seconds: 30);
        server.WaitForLog("hook: dirty_worker_init", times: 3, seconds: 30);
        // The replacement took over Heavy if the victim held it: the pool still serves every app.
        Assert.Equal(9, Call(port, "/square?x=3").GetProperty("result").GetInt32());
        Assert.NotEqual(victim, Call(port, "/heavy").GetProperty("result").GetInt32());

        var started = DateTime.UtcNow;
        var timedOut = Call(port, "/sleep?s=30", 504);
        Assert.Equal("DirtyTimeoutError", timedOut.GetProperty("type").GetString());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), "dirty_timeout 2 must end the call well before the action would");
        server.WaitForLog("timed out running pyfixtures.dirty_app:Counter.sleep after 2s", seconds: 30);
        server.WaitForLog("Spawned dirty worker (pid: ", times: 4, seconds: 30);
        Assert.Equal(16, Call(port, "/square?x=4").GetProperty("result").GetInt32());
    }

    /// <summary>
    /// A dirty arbiter killed and replaced: its workers' sockets are still there while they notice, so the new
    /// arbiter's workers must not collide with them (they failed with EADDRINUSE), and an HTTP worker's kept
    /// client connection to the dead arbiter must not fail the next call (it got DirtyConnectionError, a 500).
    /// </summary>
    [Fact]
    public void AKilledDirtyArbiterIsReplacedAndTheKeptClientCallsTheNewOne()
    {
        var port = FreePort();
        using var server = StartPool(port);
        server.WaitUntilResponding(port, "/square?x=1", seconds: 120);
        server.WaitForLog("hook: dirty_worker_init", times: 2, seconds: 30);

        Signal(DirtyArbiterPid(server), SIGKILL);
        server.WaitForLog("Spawning dirty arbiter...", seconds: 30);
        server.WaitForLog("hook: dirty_worker_init", times: 4, seconds: 30);

        Assert.Equal(9, Call(port, "/square?x=3").GetProperty("result").GetInt32());
        Assert.Equal(0, server.Count("Address already in use"));
        Assert.Equal(0, server.Count("Exception in dirty worker process"));
    }

    [Fact]
    public async Task TtinAndTtouResizeThePoolAndTermLetsACallFinish()
    {
        var port = FreePort();
        using var server = StartPool(port, "--dirty-graceful-timeout", "20");
        server.WaitUntilResponding(port, "/square?x=1", seconds: 120);
        var arbiter = DirtyArbiterPid(server);

        Signal(arbiter, SIGTTIN);
        server.WaitForLog("SIGTTIN: Increasing dirty workers to 3", seconds: 30);
        server.WaitForLog("hook: dirty_worker_init", times: 3, seconds: 30);
        Signal(arbiter, SIGTTOU);
        server.WaitForLog("SIGTTOU: Decreasing dirty workers to 2", seconds: 30);
        server.WaitForLog("hook: dirty_worker_exit", seconds: 30);
        Signal(arbiter, SIGTTOU);
        server.WaitForLog("SIGTTOU: Decreasing dirty workers to 1", seconds: 30);
        Signal(arbiter, SIGTTOU);
        server.WaitForLog("SIGTTOU: Cannot decrease below 1 workers", seconds: 30);
        Assert.Equal(25, Call(port, "/square?x=5").GetProperty("result").GetInt32());
        // The worker kept is the one holding Heavy:1 (a worker with a limited app is spared).
        Assert.Equal(JsonValueKind.Number, Call(port, "/heavy").GetProperty("result").ValueKind);

        // TERM while a dirty call runs: the call completes, then the pool and the master stop cleanly.
        var slow = Task.Run(() => Get(port, "/sleep?s=3", timeoutSeconds: 60));
        await Task.Delay(1000);
        server.Signal(SIGTERM);
        var (status, body) = await slow;
        Assert.True(status == 200 && body.Contains("slept", StringComparison.Ordinal), $"{status} {body}\n{server.Log}");
        Assert.Equal(0, server.WaitForExit(60));
        Assert.Equal(1, server.Count($"Dirty arbiter exiting (pid: {arbiter})"));
        Assert.False(Directory.Exists($"/proc/{arbiter}"), "the dirty arbiter must be gone");
    }

    /// <summary>What the master's control socket asks for (show dirty, dirty add|remove), on the dirty socket.</summary>
    [Fact]
    public void TheDirtySocketAnswersStatusAndManageAndSurvivesGarbage()
    {
        var port = FreePort();
        using var server = StartPool(port);
        server.WaitUntilResponding(port, "/square?x=1", seconds: 120);
        server.WaitForLog("hook: dirty_worker_init", times: 2, seconds: 30);
        var line = server.Lines.First(l => l.Contains("Spawned dirty arbiter (pid: ", StringComparison.Ordinal));
        var socketPath = line[(line.IndexOf(" at ", StringComparison.Ordinal) + 4)..].Trim();

        var status = Ask(socketPath, """{"id": 1, "type": "status"}""").GetProperty("result");
        Assert.True(status.GetProperty("enabled").GetBoolean());
        Assert.Equal(DirtyArbiterPid(server), status.GetProperty("pid").GetInt32());
        Assert.Equal(2, status.GetProperty("workers").GetArrayLength());
        var heavy = status.GetProperty("apps").EnumerateArray().Single(a => a.GetProperty("import_path").GetString() == Heavy);
        Assert.Equal(1, heavy.GetProperty("worker_count").GetInt32());
        Assert.Equal(1, heavy.GetProperty("current_workers").GetInt32());

        var added = Ask(socketPath, """{"id": 2, "type": "manage", "op": "add", "count": 2}""").GetProperty("result");
        Assert.Equal(4, added.GetProperty("target_workers").GetInt32());
        server.WaitForLog("hook: dirty_worker_init", times: 4, seconds: 30);

        var removed = Ask(socketPath, """{"id": 3, "type": "manage", "op": "remove", "count": 10}""").GetProperty("result");
        Assert.Equal(3, removed.GetProperty("removed").GetInt32());
        Assert.Equal(1, removed.GetProperty("target_workers").GetInt32());
        server.WaitForLog("hook: dirty_worker_exit", times: 3, seconds: 30);

        // A frame announcing 4 GiB and a body that is not JSON each get an error reply; the pool serves on.
        Assert.Equal("error", AskRaw(socketPath, [0xff, 0xff, 0xff, 0xff]).GetProperty("type").GetString());
        Assert.Equal("error", AskRaw(socketPath, [0, 0, 0, 3, (byte)'{', (byte)'x', (byte)'}']).GetProperty("type").GetString());
        // A stash key that cannot be a key (a list) is an error reply too, on a connection that stays usable.
        Assert.Equal("error", Ask(socketPath, """{"id": 4, "type": "stash", "op": "put", "table": "t", "key": [1], "value": 1}""").GetProperty("type").GetString());
        Assert.Equal(36, Call(port, "/square?x=6").GetProperty("result").GetInt32());
        Assert.Equal(JsonValueKind.Number, Call(port, "/heavy").GetProperty("result").ValueKind);
    }

    /// <summary>unicornctl's show dirty and dirty add, through the master's control socket.</summary>
    [Fact]
    public void UnicornctlShowsAndResizesThePool()
    {
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-dirty-ctl-");
        var control = Path.Combine(dir.FullName, "c.ctl");
        try
        {
            using var server = StartPool(port, "--control-socket", control);
            server.WaitUntilResponding(port, "/square?x=1", seconds: 120);
            server.WaitForLog("hook: dirty_worker_init", times: 2, seconds: 30);

            var shown = JsonDocument.Parse(Ctl(control, "show dirty")).RootElement;
            Assert.True(shown.GetProperty("enabled").GetBoolean());
            Assert.Equal(DirtyArbiterPid(server), shown.GetProperty("pid").GetInt32());
            Assert.Equal(2, shown.GetProperty("workers").GetArrayLength());

            var added = JsonDocument.Parse(Ctl(control, "dirty add 1")).RootElement;
            Assert.Equal(3, added.GetProperty("target_workers").GetInt32());
            server.WaitForLog("hook: dirty_worker_init", times: 3, seconds: 30);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string Ctl(string socket, string command)
    {
        var info = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(RepoRoot, "unicornctl"), "-s", socket, "-j", "-c", command })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(60_000), "unicornctl did not exit");
        Assert.True(process.ExitCode == 0, $"unicornctl {command}: {error.Result}{output.Result}");
        return output.Result;
    }

    private static JsonElement Ask(string socketPath, string json)
    {
        var body = System.Text.Encoding.UTF8.GetBytes(json);
        var frame = new byte[4 + body.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)body.Length);
        body.CopyTo(frame, 4);
        return AskRaw(socketPath, frame);
    }

    private static JsonElement AskRaw(string socketPath, byte[] frame)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified)
        {
            ReceiveTimeout = 30_000,
        };
        socket.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath));
        socket.Send(frame);
        var head = new byte[4];
        ReadExactly(socket, head);
        var body = new byte[System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(head)];
        ReadExactly(socket, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static void ReadExactly(System.Net.Sockets.Socket socket, byte[] buffer)
    {
        for (var read = 0; read < buffer.Length;)
        {
            var n = socket.Receive(buffer, read, buffer.Length - read, System.Net.Sockets.SocketFlags.None);
            Assert.True(n > 0, "the dirty arbiter closed the connection without a reply");
            read += n;
        }
    }

    [Fact]
    public void ABadDirtyAppSpecIsOneLineAndAnUnimportableAppStopsTheMaster()
    {
        using var bad = Start("--dirty-app", "nocolon", "--dirty-workers", "1", App);
        Assert.NotEqual(0, bad.WaitForExit(60));
        Assert.Contains(bad.Lines, l => l.Contains("Invalid import path format: nocolon", StringComparison.Ordinal));
        Assert.DoesNotContain(bad.Lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));

        using var missing = Start("-b", $"127.0.0.1:{FreePort()}", "--dirty-app", "pyfixtures.no_such_module:App", "--dirty-workers", "1", App);
        Assert.Equal(4, missing.WaitForExit(90));
        missing.WaitForLog("Dirty app failed to load.", seconds: 10); // the log reader may trail the exit
    }
}
