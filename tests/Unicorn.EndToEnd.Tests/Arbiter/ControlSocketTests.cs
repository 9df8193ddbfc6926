using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Arbiter;

#pragma warning disable CA1416 // Linux only

/// <summary>
/// The control socket on the real binary, driven by Gunicorn 26.1's own gunicornc, by unicornctl and by a
/// raw socket speaking the wire format.
/// </summary>
public sealed class ControlSocketTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-ctl-").FullName;

    /// <summary>
    /// Gunicorn 26.1's source, for its gunicornc: UNICORN_GUNICORN26_SOURCE, else ../g26 beside the repository
    /// (as the HTTP corpus sits in ../shared). Without it, unicornctl stands in and its output is checked
    /// against gunicornc's as recorded here.
    /// </summary>
    private static readonly string? Gunicorn26 =
        Environment.GetEnvironmentVariable("UNICORN_GUNICORN26_SOURCE") is { Length: > 0 } configured ? configured
        : Directory.Exists(Path.Combine(RepoRoot, "..", "g26", "gunicorn", "ctl")) ? Path.GetFullPath(Path.Combine(RepoRoot, "..", "g26"))
        : null;

    // gunicornc 26.1's output for two commands whose data does not depend on the server.
    private const string GunicorncShowDirty = "Dirty arbiter not running\n";
    private const string GunicorncListenersHeader = "ADDRESS                                  TYPE     FD\n-------------------------------------------------------\n";

    private string SocketPath => Path.Combine(_dir, "run", "app.ctl");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void GunicorncShowsScalesReloadsAndShutsDownUnicorn()
    {
        var port = FreePort();
        using var server = Start("-w", "1", "-b", $"127.0.0.1:{port}", "--control-socket", SocketPath, "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForLog("Control socket listening at " + SocketPath);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SocketPath));

        var workers = Json(Gunicornc("-c", "show workers", "-j"));
        Assert.Equal(1, (int)workers["count"]!);
        Assert.Equal(server.Workers().Single(), (int)workers["workers"]![0]!["pid"]!);
        Assert.True((bool)workers["workers"]![0]!["booted"]!);

        var added = Json(Gunicornc("-c", "worker add 2", "-j"));
        Assert.Equal(3, (int)added["total"]!);
        server.WaitForWorkers(3, 120);
        var stats = Json(Gunicornc("-c", "show stats", "-j"));
        Assert.Equal(3, (int)stats["workers_target"]!);
        Assert.Equal(server.Pid, (int)stats["pid"]!);
        Assert.True((int)stats["workers_spawned"]! >= 3);

        Assert.Contains($"http://127.0.0.1:{port}", Gunicornc("-c", "show listeners"), StringComparison.Ordinal);
        // show config shows the settings (as Gunicorn's does), not the count TTIN or worker add changed.
        Assert.Contains("workers: 1", Gunicornc("-c", "show config"), StringComparison.Ordinal);
        // cfg.proc_name in Gunicorn: proc_name, else default_proc_name (the app module), never None.
        Assert.Equal("pyfixtures.arbiter_app:app", (string?)Json(Gunicornc("-c", "show config", "-j"))["proc_name"]);
        Assert.Contains("Dirty arbiter not running", Gunicornc("-c", "show dirty"), StringComparison.Ordinal);

        var removed = Json(Gunicornc("-c", "worker remove 5", "-j"));
        Assert.Equal(2, (int)removed["removed"]!); // at least one worker stays, as in Gunicorn
        Assert.True(Poll(() => server.Workers().Count == 1, 60), server.Log);

        var victim = server.Workers().Single();
        Assert.True((bool)Json(Gunicornc("-c", $"worker kill {victim}", "-j"))["success"]!);
        Assert.True(Poll(() => server.Workers() is [var pid] && pid != victim, 120), server.Log);
        server.WaitUntilServing(port);

        Gunicornc("-c", "reload");
        server.WaitForLog("Handling signal: hup");
        Assert.Equal(1, (int)Json(Gunicornc("-c", "show stats", "-j"))["reloads"]!);

        Gunicornc("-c", "shutdown");
        Assert.Equal(0, server.WaitForExit(60));
        Assert.False(File.Exists(SocketPath), "the socket file is removed at exit");
    }

    [Fact]
    public void UnicornctlPrintsWhatGunicorncPrintsAndHasAnInteractiveMode()
    {
        var port = FreePort();
        using var server = Start("-w", "1", "-b", $"127.0.0.1:{port}", "--control-socket", SocketPath, "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForLog("Control socket listening at");

        Assert.Equal(GunicorncShowDirty, Unicornctl("-c", "show dirty"));
        Assert.StartsWith(GunicorncListenersHeader + $"http://127.0.0.1:{port}", Unicornctl("-c", "show listeners"), StringComparison.Ordinal);
        foreach (var command in Gunicorn26 is null ? [] : new[] { "show listeners", "show config", "show dirty", "help", "show all" })
        {
            var ours = Unicornctl("-c", command);
            var theirs = Gunicornc("-c", command);
            if (command == "show all")
            {
                // Heartbeat ages differ between two calls; the layout may not.
                ours = System.Text.RegularExpressions.Regex.Replace(ours, @"[0-9.]+s ago", "Ns ago");
                theirs = System.Text.RegularExpressions.Regex.Replace(theirs, @"[0-9.]+s ago", "Ns ago");
            }

            Assert.Equal(theirs, ours);
        }

        var (status, output, error) = RunTool(Path.Combine(RepoRoot, "unicornctl"), "show workers\nworker add\nnonsense\nquit\n", "-s", SocketPath);
        Assert.Equal(0, status);
        Assert.Contains("Connected to " + SocketPath, output, StringComparison.Ordinal);
        Assert.Contains("Total: 1 workers", output, StringComparison.Ordinal);
        Assert.Contains("\"total\": 2", output, StringComparison.Ordinal);
        Assert.Contains("Error: Invalid argument: Unknown command: nonsense", output, StringComparison.Ordinal);
        Assert.Empty(error);
        server.WaitForWorkers(2, 120);

        (status, _, error) = RunTool(Path.Combine(RepoRoot, "unicornctl"), "", "-s", SocketPath, "-c", "dirty add 2");
        Assert.Equal(1, status);
        Assert.Equal("Error: no dirty arbiter: dirty_apps is not set", error.Trim());

        // A quote left open in -c is one line, as in the interactive mode (gunicornc prints shlex's traceback).
        (status, _, error) = RunTool(Path.Combine(RepoRoot, "unicornctl"), "", "-s", SocketPath, "-c", "worker 'add 2");
        Assert.Equal(1, status);
        Assert.Equal("Error: No closing quotation", error.Trim());
    }

    [Fact]
    public void MalformedOversizedAndForeignRequestsGetAnErrorAndTheMasterGoesOn()
    {
        var port = FreePort();
        using var server = Start("-w", "1", "-b", $"127.0.0.1:{port}", "--control-socket", SocketPath, "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForLog("Control socket listening at");

        using (var client = Connect())
        {
            Assert.StartsWith("Invalid JSON", (string)Exchange(client, "{not json"u8.ToArray())["error"]!, StringComparison.Ordinal);
            Assert.Equal("a request must be a JSON object", (string)Exchange(client, "[1]"u8.ToArray())["error"]!);
            var bad = Exchange(client, """{"id": 5, "command": "worker add many"}"""u8.ToArray());
            Assert.Equal(5, (int)bad["id"]!);
            Assert.Equal("Invalid argument: 'many' is not an integer", (string)bad["error"]!);
            // The same connection still works after errors.
            var ok = Exchange(client, """{"id": 6, "command": "show", "args": ["stats"]}"""u8.ToArray());
            Assert.Equal("ok", (string)ok["status"]!);
            Assert.Equal(6, (int)ok["id"]!);
        }

        using (var client = Connect())
        {
            var prefix = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(prefix, 512 * 1024 * 1024);
            client.Send(prefix);
            Assert.StartsWith("message too large", (string)Read(client)["error"]!, StringComparison.Ordinal);
            Assert.Equal(0, client.Receive(new byte[1])); // then closed: the framing is lost
        }

        using (var client = Connect())
        {
            client.Send([0, 0]); // half a prefix, then gone
        }

        // Another user, let through the file system on purpose: the peer's credentials still refuse it.
        File.SetUnixFileMode(_dir, (UnixFileMode)0x1C9 /* 0711 */);
        File.SetUnixFileMode(Path.GetDirectoryName(SocketPath)!, (UnixFileMode)0x1C9);
        File.SetUnixFileMode(SocketPath, (UnixFileMode)0x1B6 /* 0666 */);
        var (status, _, error) = RunTool("/usr/bin/setpriv", "",
            "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", Path.Combine(RepoRoot, "unicornctl"), "-s", SocketPath, "-c", "show stats");
        Assert.Equal(1, status);
        Assert.Contains("refused a connection from pid", error, StringComparison.Ordinal);
        Assert.Contains("(uid 65534)", error, StringComparison.Ordinal);
        server.WaitForLog("Control socket: refused a connection");

        Assert.Equal(200, Get(port, "/pid").Status);
        Assert.Equal("ok", (string)Exchange(Connect(), """{"id": 1, "command": "show workers"}"""u8.ToArray())["status"]!);
        Assert.DoesNotContain("Unhandled", server.Log, StringComparison.Ordinal);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void AMemberOfTheSocketsGroupBySupplementaryGroupMayUseA0660Socket()
    {
        // control_socket_mode = 0o660 and `usermod -aG` for the admins: their primary group is their own, and the
        // kernel lets them connect by the supplementary one, as Gunicorn serves them.
        var port = FreePort();
        using var server = Start("-w", "1", "-b", $"127.0.0.1:{port}", "--control-socket", SocketPath,
            "--control-socket-mode", "0o660", "pyfixtures.arbiter_app:app");
        server.WaitForLog("Control socket listening at");
        File.SetUnixFileMode(_dir, (UnixFileMode)0x1C9 /* 0711 */);
        File.SetUnixFileMode(Path.GetDirectoryName(SocketPath)!, (UnixFileMode)0x1C9);
        var unicornctl = Path.Combine(RepoRoot, "unicornctl");

        var (status, output, error) = RunTool("/usr/bin/setpriv", "", "--reuid=65534", "--regid=65534",
            $"--groups={getegid()}", "/usr/bin/python3", unicornctl, "-s", SocketPath, "-c", "show stats", "-j");
        Assert.True(status == 0, error);
        Assert.Equal(server.Pid, (int)Json(output)["pid"]!);

        (status, _, error) = RunTool("/usr/bin/setpriv", "", "--reuid=65534", "--regid=65534", "--clear-groups",
            "/usr/bin/python3", unicornctl, "-s", SocketPath, "-c", "show stats");
        Assert.Equal(1, status);
        Assert.Contains("Permission denied", error, StringComparison.Ordinal); // the file mode keeps it out
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void FortyClientsAtOnceAreAllAnsweredAsGunicornAnswersThem()
    {
        // Gunicorn serves every client; here the 17th and later wait for a turn instead of being turned away
        // ("too many control connections"), so a burst of monitoring scripts all get their answers.
        var port = FreePort();
        using var server = Start("-w", "1", "-b", $"127.0.0.1:{port}", "--control-socket", SocketPath, "pyfixtures.arbiter_app:app");
        server.WaitForLog("Control socket listening at");
        var clients = Enumerable.Range(0, 40).Select(_ => Connect()).ToList();
        try
        {
            var replies = clients.AsParallel().WithDegreeOfParallelism(40).Select((client, i) =>
            {
                var reply = Exchange(client, Encoding.UTF8.GetBytes($$"""{"id": {{i}}, "command": "show stats"}"""));
                client.Dispose(); // its turn goes to one still waiting
                return reply;
            }).ToList();
            Assert.All(replies, reply => Assert.Equal("ok", (string)reply["status"]!));
        }
        finally
        {
            clients.ForEach(client => client.Dispose());
        }

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void TheDefaultSocketIsInXdgRuntimeDirAndNoControlSocketTurnsItOff()
    {
        var runtime = Path.Combine(_dir, "xdg");
        Directory.CreateDirectory(runtime);
        var port = FreePort();
        using (var server = Start(new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = runtime }, "-w", "1", "-b", $"127.0.0.1:{port}", "pyfixtures.arbiter_app:app"))
        {
            server.WaitForLog($"Control socket listening at {runtime}/gunicorn.ctl");
            Assert.True(File.Exists(Path.Combine(runtime, "gunicorn.ctl")));
            server.Signal(SIGTERM);
            Assert.Equal(0, server.WaitForExit(60));
        }

        port = FreePort();
        using (var server = Start(new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = runtime }, "-w", "1", "-b", $"127.0.0.1:{port}", "--no-control-socket", "pyfixtures.arbiter_app:app"))
        {
            server.WaitUntilServing(port);
            Assert.False(File.Exists(Path.Combine(runtime, "gunicorn.ctl")));
            Assert.DoesNotContain("Control socket", server.Log, StringComparison.Ordinal);
            server.Signal(SIGTERM);
            Assert.Equal(0, server.WaitForExit(60));
        }
    }

    [Fact]
    public void WithoutHomeTheDefaultSocketIsUnderThePasswdHomeEvenWhenThatDoesNotExist()
    {
        // A service user (nobody, www-data) run without HOME: Gunicorn takes the home directory from the password
        // database (/nonexistent for nobody) and fails to create the socket there with a logged error. The socket
        // must not land in .gunicorn/ under the app's working directory instead.
        var (status, output, error) = RunTool("/usr/bin/setpriv", "", "--reuid=65534", "--regid=65534", "--clear-groups",
            "/usr/bin/env", "-u", "HOME", "-u", "XDG_RUNTIME_DIR", "UNICORN_PYTHON=/usr/bin/python3",
            Path.Combine(RepoRoot, "unicorn"), "--print-config", "--pythonpath", RepoRoot, "pyfixtures.arbiter_app:app");
        Assert.True(status == 0, error);
        Assert.Contains("control_socket                     = /nonexistent/.gunicorn/gunicorn.ctl\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public void ARelativeSocketPathIsUnderChdirAsGunicornPutsIt()
    {
        // gunicorn --chdir /srv/app --control-socket app.ctl creates /srv/app/app.ctl (it has changed directory by
        // then), so `cd /srv/app && gunicornc -s app.ctl` finds it; pidfile and certfile resolve there too.
        var appDir = Path.Combine(_dir, "app");
        Directory.CreateDirectory(appDir);
        var port = FreePort();
        using var server = Start("-w", "1", "-b", $"127.0.0.1:{port}", "--chdir", appDir, "--pythonpath", RepoRoot,
            "--control-socket", "app.ctl", "pyfixtures.arbiter_app:app");
        var expected = Path.Combine(appDir, "app.ctl");
        server.WaitForLog("Control socket listening at " + expected);
        Assert.True(File.Exists(expected), server.Log);
        Assert.False(File.Exists(Path.Combine(RepoRoot, "app.ctl")), "not beside where unicorn was started");
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.False(File.Exists(expected));
    }

    [Fact]
    public void AMasterThatStopsLeavesTheSocketAnotherMasterTookOnTheSamePath()
    {
        // Two masters with the default path (one user's ~/.gunicorn/gunicorn.ctl): the second replaces the first's
        // socket, and the first's exit must not remove the second's (.NET unlinks the path a socket was bound to).
        int first = FreePort(), second = FreePort();
        using var older = Start("-w", "1", "-b", $"127.0.0.1:{first}", "--control-socket", SocketPath, "pyfixtures.arbiter_app:app");
        older.WaitForLog("Control socket listening at " + SocketPath);
        using var newer = Start("-w", "1", "-b", $"127.0.0.1:{second}", "--control-socket", SocketPath, "pyfixtures.arbiter_app:app");
        newer.WaitForLog("Control socket listening at " + SocketPath);
        older.Signal(SIGTERM);
        Assert.Equal(0, older.WaitForExit(60));

        Assert.Equal(newer.Pid, (int)Json(Unicornctl("-c", "show stats", "-j"))["pid"]!);
        Assert.Equal([SocketPath], Directory.GetFiles(Path.GetDirectoryName(SocketPath)!)); // no file left beside it
        newer.Signal(SIGTERM);
        Assert.Equal(0, newer.WaitForExit(60));
        Assert.False(File.Exists(SocketPath));
    }

    private Socket Connect()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 30000 };
        socket.Connect(new UnixDomainSocketEndPoint(SocketPath));
        return socket;
    }

    private static JsonObject Exchange(Socket socket, byte[] payload)
    {
        var frame = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)payload.Length);
        payload.CopyTo(frame, 4);
        socket.Send(frame);
        return Read(socket);
    }

    private static JsonObject Read(Socket socket)
    {
        var prefix = ReadExactly(socket, 4);
        return (JsonObject)JsonNode.Parse(ReadExactly(socket, (int)BinaryPrimitives.ReadUInt32BigEndian(prefix)))!;
    }

    private static byte[] ReadExactly(Socket socket, int count)
    {
        var buffer = new byte[count];
        for (var read = 0; read < count;)
        {
            var n = socket.Receive(buffer, read, count - read, SocketFlags.None);
            Assert.True(n > 0, "the master closed the control connection early");
            read += n;
        }

        return buffer;
    }

    [Fact]
    public void A_worker_add_after_a_deferred_hup_still_counts_once_the_reload_is_applied()
    {
        // As TTIN (OperatorTests): Gunicorn's HUP resets the count to `workers` and a worker add after it still counts;
        // a HUP deferred while the last set boots must not reset the count over the add.
        var port = FreePort();
        using var server = Start("-w", "2", "--log-level", "debug", "-b", $"127.0.0.1:{port}", "--control-socket", SocketPath, "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForLog("Control socket listening at " + SocketPath);
        server.WaitForLog("Booting worker with pid:", 2);

        server.Signal(SIGHUP);
        server.WaitForLog("Hang up: Master", 1);
        server.Signal(SIGHUP); // the first HUP's set is booting: deferred
        server.WaitForLog("Hang up: Master", 2);
        server.WaitForLog("Reload deferred until", 1);
        Assert.Equal(3, (int)Json(Gunicornc("-c", "worker add 1", "-j"))["total"]!);

        // The deferred reload is applied. (Under load the first HUP may find the first set still booting too, and the
        // two HUPs become one reload: so wait for a reload after the last deferral, not for a count of them.)
        Assert.True(Poll(() =>
        {
            var lines = server.Lines;
            return lines.FindLastIndex(l => l.Contains("Current configuration:", StringComparison.Ordinal))
                > lines.FindLastIndex(l => l.Contains("Reload deferred until", StringComparison.Ordinal));
        }, 60), server.Log);
        Assert.True(Poll(() => server.Workers().Count == 3 && (int)Json(Gunicornc("-c", "show stats", "-j"))["workers_target"]! == 3, 60), server.Log);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void A_TERM_during_a_large_worker_add_stops_the_master_without_starting_the_rest()
    {
        // `worker add 40` with a pre_fork that takes 0.25 s: starting them all is 10 s of the master's loop. A TERM sent
        // once the first has started must be handled between two spawns, not after the fortieth.
        var config = Path.Combine(_dir, "slow_fork.conf.py");
        File.WriteAllText(config, "import time\n\ndef pre_fork(server, worker):\n    time.sleep(0.25)\n");
        var port = FreePort();
        using var server = Start("-c", config, "-w", "1", "-b", $"127.0.0.1:{port}", "--control-socket", SocketPath, "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForLog("Control socket listening at " + SocketPath);

        Assert.Equal(41, (int)Json(Gunicornc("-c", "worker add 40", "-j"))["total"]!);
        Assert.True(Poll(() => server.Workers().Count >= 2, 30), server.Log);
        var sent = Stopwatch.StartNew();
        server.Signal(SIGTERM);
        server.WaitForLog("Handling signal: term", seconds: 30);
        Assert.True(sent.Elapsed < TimeSpan.FromSeconds(4), $"TERM handled after {sent.Elapsed.TotalSeconds:F1} s\n{server.Log}");
        Assert.Equal(0, server.WaitForExit(60));
    }

    private static JsonObject Json(string text) => (JsonObject)JsonNode.Parse(text)!;

    /// <summary>Gunicorn's gunicornc when its source is here, else unicornctl (the same protocol and output).</summary>
    private string Gunicornc(params string[] args)
    {
        if (Gunicorn26 is null)
        {
            return Unicornctl(args);
        }

        var (status, output, error) = RunTool("/usr/bin/python3", "", ["-m", "gunicorn.ctl.cli", "-s", SocketPath, .. args], new() { ["PYTHONPATH"] = Gunicorn26 });
        Assert.True(status == 0, $"gunicornc {string.Join(' ', args)}: exit {status}: {error}");
        return output;
    }

    private string Unicornctl(params string[] args)
    {
        var (status, output, error) = RunTool(Path.Combine(RepoRoot, "unicornctl"), "", ["-s", SocketPath, .. args]);
        Assert.True(status == 0, $"unicornctl {string.Join(' ', args)}: exit {status}: {error}");
        return output;
    }

    private static (int Status, string Output, string Error) RunTool(string program, string input, params string[] args) =>
        RunTool(program, input, args, []);

    private static (int Status, string Output, string Error) RunTool(string program, string input, string[] args, Dictionary<string, string> env)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in env)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Write(input);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), $"{program} did not finish");
        return (process.ExitCode, output.Result, error.Result);
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern uint getegid();
}
