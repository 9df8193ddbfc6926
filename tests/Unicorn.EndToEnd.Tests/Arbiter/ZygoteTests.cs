using System.Diagnostics;
using System.Globalization;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>
/// worker_start = fork: workers forked from a python3 zygote, which imports the app once with --preload
/// (Gunicorn's fork semantics), stay the master's children, and survive the zygote's own death.
/// </summary>
public sealed class ZygoteTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-zygote-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void With_preload_the_import_runs_once_and_workers_see_what_it_made()
    {
        var counter = Path.Combine(_dir, "count");
        var port = FreePort();
        using var server = Start(new Dictionary<string, string> { ["PRELOAD_COUNTER"] = counter },
            "--worker-start", "fork", "--log-level", "debug", "--preload", "-w", "3", "-b", $"127.0.0.1:{port}", "pyfixtures.preload_counter:app");
        server.WaitUntilServing(port);
        server.WaitForLog("Booting worker with pid:", 3);
        var (status, body) = Get(port, "/");
        Assert.Equal(200, status);

        // One import for three workers (spawned workers import once each, four times with the master's check).
        Assert.Equal("x", File.ReadAllText(counter));
        var pids = body.Split(' ').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        Assert.NotEqual(pids[0], pids[1]); // imported by the zygote, served by a worker forked from it
        Assert.Contains(pids[1], server.Workers());
        Assert.Contains($"Forking workers from zygote (pid: {pids[0]})", server.Log, StringComparison.Ordinal);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void A_preloaded_app_that_imports_gunicorn_dirty_starts_and_calls_the_pool()
    {
        // Gunicorn 26's dirty apps start with `from gunicorn.dirty import ...`: with --preload the zygote imported
        // the module without it (ModuleNotFoundError: No module named 'gunicorn.dirty') and the server stopped.
        var port = FreePort();
        using var server = Start("--worker-start", "fork", "--preload", "-w", "1", "-b", $"127.0.0.1:{port}",
            "--dirty-app", "pyfixtures.dirty_app:Counter", "--dirty-workers", "1", "pyfixtures.dirty_app:app");
        server.WaitUntilServing(port);
        var (status, body) = Get(port, "/incr", timeoutSeconds: 60);
        Assert.True(status == 200, body + server.Log);
        Assert.Contains("\"count\": 1", body, StringComparison.Ordinal);
        Assert.DoesNotContain("ModuleNotFoundError", server.Log, StringComparison.Ordinal);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void Without_preload_each_forked_worker_imports_the_app()
    {
        var counter = Path.Combine(_dir, "count");
        var port = FreePort();
        using var server = Start(new Dictionary<string, string> { ["PRELOAD_COUNTER"] = counter },
            "--worker-start", "fork", "--log-level", "debug", "-w", "2", "-b", $"127.0.0.1:{port}", "pyfixtures.preload_counter:app");
        server.WaitUntilServing(port);
        server.WaitForWorkers(2, 60);
        Assert.True(Poll(() => File.ReadAllText(counter) == "xx", 30), File.ReadAllText(counter));
        var pids = Get(port, "/").Body.Split(' ');
        Assert.Equal(pids[0], pids[1]);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void A_forked_worker_inherits_the_standard_library_it_needs_and_a_capped_malloc()
    {
        var port = FreePort();
        using var server = Start("--worker-start", "fork", "--preload", "-w", "1", "-b", $"127.0.0.1:{port}",
            "pyfixtures.imports_after_fork:app");
        server.WaitUntilServing(port);

        // What a worker imports after the fork is private to it: only pythonnet's modules and Unicorn's own
        // (which the worker's runtime registers) should be left, not asyncio, ssl and the standard library.
        var imported = Get(port, "/").Body.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var ours = new[] { "clr", "CLR", "_unicorn_bridge", "unicorn_dirty", "gunicorn.dirty" };
        var others = imported.Where(m => !ours.Any(o => m == o || m.StartsWith(o + ".", StringComparison.Ordinal))).ToArray();
        Assert.True(others.Length == 0, "imported after the fork: " + string.Join(' ', others));

        // Without the zygote's cap each of the runtime's threads takes an arena (15 seen on 2 cores).
        var arenas = int.Parse(Get(port, "/arenas").Body, CultureInfo.InvariantCulture);
        Assert.InRange(arenas, 1, 2);

        // Unicorn's own Python modules were compiled once, in the zygote, not again in the worker.
        Assert.Equal("_unicorn_bridge=True unicorn_dirty=True", Get(port, "/precompiled").Body);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public void A_greenlet_worker_inherits_its_library_imported_as_gunicorns_master_imports_it(string workerClass)
    {
        var port = FreePort();
        using var server = Start("--worker-start", "fork", "--preload", "-w", "1", "-k", workerClass, "-b", $"127.0.0.1:{port}",
            "pyfixtures.imports_after_fork:app");
        server.WaitUntilServing(port);

        // eventlet's own imports (dnspython among them) cost each worker most of a second of CPU after the fork.
        // The patching still happens in the worker, which imports the library's green modules.
        var imported = Get(port, "/").Body.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain(workerClass, imported);
        Assert.DoesNotContain(imported, m => m.StartsWith("dns.", StringComparison.Ordinal));
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void Forked_workers_are_reaped_by_the_master_and_a_killed_zygote_is_replaced()
    {
        var port = FreePort();
        using var server = Start("--worker-start", "fork", "--log-level", "debug", "-w", "2", "-b", $"127.0.0.1:{port}", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForWorkers(2, 60);
        // Both booted: one killed before its boot line would leave the count below one short.
        server.WaitForLog("Booting worker with pid:", 2, 60);

        // A worker is the master's own child: its death and the signal that caused it are seen.
        var victim = server.Workers()[0];
        Signal(victim, 9);
        server.WaitForLog($"Worker (pid:{victim}) was sent SIGKILL!");
        server.WaitForWorkers(2, 60);

        var zygote = ZygotePid(server);
        Assert.Contains(zygote, ChildrenOf(server.Pid));
        Signal(zygote, 9);
        server.WaitForLog($"Zygote (pid: {zygote}) exited (signal SIGKILL); starting a new one");
        server.WaitForLog("Forking workers from zygote", 2);

        // The new zygote forks the next worker.
        server.Signal(SIGTTIN);
        server.WaitForWorkers(3, 60);
        server.WaitForLog("Booting worker with pid:", 4, 60); // two, the killed one's replacement, TTIN's
        Assert.Equal(200, Get(port, "/").Status);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.DoesNotContain(zygote, ChildrenOf(server.Pid));
    }

    [Fact]
    public void A_zygote_killed_just_before_a_fork_is_replaced_with_a_warning_not_an_error()
    {
        // A TTIN right after the kill: the fork may find the zygote dead (reaped) or fail on its closed socket
        // (EPIPE, not reaped yet). Either way a new one starts, said as a warning; the EPIPE case used to be an
        // error line ("Zygote failed: sendmsg: Broken pipe") with nothing saying a new zygote was started.
        var port = FreePort();
        using var server = Start("--worker-start", "fork", "--log-level", "debug", "-w", "1", "-b", $"127.0.0.1:{port}", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForLog("Booting worker with pid:", 1, 60);
        Signal(ZygotePid(server), 9);
        server.Signal(SIGTTIN);
        server.WaitForLog("; starting a new one");
        server.WaitForWorkers(2, 60);
        Assert.Equal(200, Get(port, "/").Status);
        Assert.DoesNotContain(server.Lines, l => l.Contains("[ERROR]", StringComparison.Ordinal) && l.Contains("Zygote", StringComparison.Ordinal));
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void A_stop_signal_sent_to_the_whole_group_leaves_the_zygote_to_the_master()
    {
        // systemd's stop, timeout(1) and Ctrl-C signal every process of the group, the zygote too. The
        // server leads its own group here, so the test host is not in it.
        var port = FreePort();
        using var server = StartViaPython(OwnGroup, null, "--worker-start", "fork", "--log-level", "debug", "-w", "2", "-b", $"127.0.0.1:{port}", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForLog("Booting worker with pid:", 2, 60);
        var zygote = ZygotePid(server);

        // The zygote shrugs off the other group-wide signals too (Ctrl-\, a terminal's hangup).
        foreach (var sig in new[] { SIGINT, SIGQUIT, SIGHUP })
        {
            Signal(zygote, sig);
        }

        Thread.Sleep(500);
        Assert.True(Directory.Exists($"/proc/{zygote}"), "a group signal killed the zygote");
        Assert.Equal(200, Get(port, "/").Status);
        Signal(-server.Pid, SIGTERM);

        Assert.Equal(0, server.WaitForExit(60));
        // The log reader may trail the exit when children held stderr open: wait for the line, then count it.
        server.WaitForLog("Shutting down: Master");
        Assert.True(server.Count("Handling signal: term") == 1, server.Log);
        Assert.DoesNotContain("starting a new one", server.Log, StringComparison.Ordinal);
        // It left on the end of file of its channel, not killed after the grace second.
        Assert.DoesNotContain("did not exit when its channel closed", server.Log, StringComparison.Ordinal);
        Assert.False(Directory.Exists($"/proc/{zygote}"), "the zygote outlived its master");
    }

    [Fact]
    public void A_killed_master_leaves_no_zygote_or_worker_behind()
    {
        var port = FreePort();
        using var server = Start("--worker-start", "fork", "--log-level", "debug", "--preload", "-w", "2", "-b", $"127.0.0.1:{port}", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForLog("Booting worker with pid:", 2, 60);
        var zygote = ZygotePid(server);
        var workers = server.Workers();
        Assert.Equal(2, workers.Count);

        server.Signal(SIGKILL);
        server.WaitForExit(60);

        // The zygote reads end of file on its channel; workers see their parent change.
        int[] left = [zygote, .. workers];
        Assert.True(Poll(() => left.All(pid => !IsRunning(pid)), 60),
            "still running: " + string.Join(' ', left.Where(IsRunning)));
    }

    [Fact]
    public void Hup_starts_a_new_zygote_that_imports_the_app_again()
    {
        var counter = Path.Combine(_dir, "count");
        var port = FreePort();
        using var server = Start(new Dictionary<string, string> { ["PRELOAD_COUNTER"] = counter },
            "--worker-start", "fork", "--log-level", "debug", "--preload", "-w", "1", "-b", $"127.0.0.1:{port}", "pyfixtures.preload_counter:app");
        server.WaitUntilServing(port);
        var before = Get(port, "/").Body.Split(' ')[0];
        server.Signal(SIGHUP);
        server.WaitForLog("Forking workers from zygote", 2);
        Assert.True(Poll(() => Get(port, "/").Body.Split(' ')[0] != before, 60), server.Log);
        Assert.Equal("xx", File.ReadAllText(counter));
        Assert.False(IsRunning(int.Parse(before, CultureInfo.InvariantCulture)), "the old zygote outlived the HUP");
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.DoesNotContain("did not exit when its channel closed", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void A_replaced_zygote_runs_the_apps_atexit_functions_and_skips_the_interpreters_teardown()
    {
        // Tearing the interpreter down touches every object the preloaded app made, copying each page the zygote
        // shares with its workers: an eventlet app's zygote took 1.5 s of CPU over it at each HUP and, under load,
        // outlived the master's grace second and was killed. A finaliser that takes 3 s stands in for that cost.
        File.WriteAllText(Path.Combine(_dir, "teardown_app.py"), """
            import atexit
            import os
            import sys
            import time

            class SlowToFinalise:
                def __del__(self, sleep=time.sleep):  # a default: the module's globals may be gone by then
                    sleep(3)

            sys.modules["_slow_to_finalise"] = SlowToFinalise()  # the teardown empties sys.modules early
            MARKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "atexit.txt")

            @atexit.register
            def mark():
                with open(MARKS, "a") as f:
                    f.write("%d\n" % os.getpid())

            def app(environ, start_response):
                start_response("200 OK", [])
                return [str(os.getppid()).encode()]
            """);
        var port = FreePort();
        using var server = Start("--worker-start", "fork", "--log-level", "debug", "--preload", "--chdir", _dir, "-w", "1",
            "-b", $"127.0.0.1:{port}", "teardown_app:app");
        server.WaitUntilServing(port);
        var first = ZygotePid(server);
        server.Signal(SIGHUP);
        server.WaitForLog("Forking workers from zygote", 2);
        var second = ZygotePid(server);
        Assert.True(Poll(() => !IsRunning(first), 60), "the old zygote outlived the HUP");
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));

        Assert.DoesNotContain("did not exit when its channel closed", server.Log, StringComparison.Ordinal);
        // As Python's exit: each zygote ran the app's atexit function (its workers did too, as Gunicorn's forked ones).
        var marks = File.ReadAllLines(Path.Combine(_dir, "atexit.txt"));
        Assert.Contains(first.ToString(CultureInfo.InvariantCulture), marks);
        Assert.Contains(second.ToString(CultureInfo.InvariantCulture), marks);
    }

    [Fact]
    public void Reload_forks_a_worker_that_imports_the_changed_module()
    {
        File.WriteAllText(Path.Combine(_dir, "reloaded_app.py"),
            "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'v1']\n");
        var port = FreePort();
        using var server = Start("--worker-start", "fork", "--log-level", "debug", "--reload", "--chdir", _dir, "-w", "1", "-b", $"127.0.0.1:{port}", "reloaded_app:app");
        server.WaitUntilServing(port);
        Assert.Equal("v1", Get(port, "/").Body);
        // A longer body: Python trusts a cached .pyc whose source has the same size and mtime second.
        File.WriteAllText(Path.Combine(_dir, "reloaded_app.py"),
            "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'v2, longer']\n");
        Assert.True(Poll(() => TryBody(port) == "v2, longer", 60), server.Log);
        // The log is read from a pipe on another thread and may trail the response.
        server.WaitForLog("Worker reloading:", seconds: 30);
        Assert.Equal(1, server.Count("Forking workers from zygote"));
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void A_preloaded_app_that_started_threads_is_refused_in_one_line()
    {
        var port = FreePort();
        using var server = Start("--worker-start", "fork", "--log-level", "debug", "--preload", "-b", $"127.0.0.1:{port}", "pyfixtures.threads_at_import:app");
        Assert.Equal(1, server.WaitForExit(60));
        var line = Assert.Single(server.Lines, l => l.Contains("started threads", StringComparison.Ordinal));
        Assert.Contains("(import-poller)", line, StringComparison.Ordinal);
        Assert.Contains("worker_start = 'spawn'", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_python_executable_workers_are_spawned_and_the_log_says_why()
    {
        var libpython = LibPython();
        Assert.True(File.Exists(libpython), libpython);
        var port = FreePort();
        using var server = Start(new Dictionary<string, string> { ["UNICORN_PYTHON"] = libpython },
            "--worker-start", "fork", "--log-level", "debug", "--preload", "-w", "1", "-b", $"127.0.0.1:{port}", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForLog("Cannot start the zygote"); // the log reader may trail the first response
        var line = Assert.Single(server.Lines, l => l.Contains("Cannot start the zygote", StringComparison.Ordinal));
        Assert.Contains("no Python executable is known", line, StringComparison.Ordinal);
        Assert.Contains("spawning workers instead", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Forking workers from zygote", server.Log, StringComparison.Ordinal);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    /// <summary>Execs the server as the leader of a new process group (and session), keeping the pid.</summary>
    private const string OwnGroup = "import os, sys; os.setsid(); os.execv(sys.argv[1], sys.argv[1:])";

    private static int ZygotePid(UnicornServer server)
    {
        server.WaitForLog("Forking workers from zygote");
        return int.Parse(server.Lines.Last(l => l.Contains("Forking workers from zygote", StringComparison.Ordinal))
            .Split("(pid: ")[1].TrimEnd(')'), CultureInfo.InvariantCulture);
    }

    /// <summary>Alive and not a zombie (an orphan's zombie waits for whoever reaps orphans here).</summary>
    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string? TryBody(int port)
    {
        try
        {
            return Get(port, "/", 5).Body;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary>The shared libpython of the test's python3: UNICORN_PYTHON naming it leaves no executable to run.</summary>
    private static string LibPython()
    {
        var python = Environment.GetEnvironmentVariable("UNICORN_PYTHON") ?? "/usr/bin/python3";
        using var process = Process.Start(new ProcessStartInfo(python,
            ["-c", "import os, sysconfig; print(os.path.join(sysconfig.get_config_var('LIBDIR'), sysconfig.get_config_var('INSTSONAME')))"])
        { RedirectStandardOutput = true })!;
        var path = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return path;
    }
}
