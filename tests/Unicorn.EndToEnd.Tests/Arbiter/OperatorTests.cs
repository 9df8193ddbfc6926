using System.Globalization;
using System.Text.Json;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>Daemon mode, process titles, privilege drop and log reopening, as operators use them.</summary>
public class OperatorTests
{
    private const string App = "pyfixtures.arbiter_app:app";

    [Fact]
    public void DaemonModeDetachesAndWinchStopsTheWorkers()
    {
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-daemon-");
        var pidfile = Path.Combine(dir.FullName, "app.pid");
        using var launcher = Start("-D", "-w", "2", "-p", pidfile, "-b", $"127.0.0.1:{port}", App);

        Assert.Equal(0, launcher.WaitForExit());
        Assert.True(Poll(() => File.Exists(pidfile), 30), launcher.Log);
        var daemon = int.Parse(File.ReadAllText(pidfile).Trim(), CultureInfo.InvariantCulture);
        try
        {
            Assert.NotEqual(launcher.Pid, daemon);
            var stat = File.ReadAllText($"/proc/{daemon}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            Assert.Equal(daemon.ToString(CultureInfo.InvariantCulture), fields[3]); // session leader
            Assert.True(Poll(() => TryGet(port, "/") == 200, 60));
            Assert.True(Poll(() => WorkersOf(daemon).Count == 2, 30));
            // The mark that keeps the re-executed master from detaching again is the master's alone: a unicorn -D
            // the app ran would not detach.
            Assert.Equal("", Get(port, "/env?name=UNICORN_DAEMONIZED").Body);

            Signal(daemon, SIGWINCH);
            Assert.True(Poll(() => WorkersOf(daemon).Count == 0, 30), "WINCH must stop every worker of a daemon");
            Assert.True(Directory.Exists($"/proc/{daemon}"), "the master stays after WINCH");
        }
        finally
        {
            Signal(daemon, SIGTERM);
        }

        Assert.True(Poll(() => !File.Exists(pidfile), 30));
        dir.Delete(recursive: true);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EnableStdioInheritanceKeepsADaemonsStderrWhenItIsNotATerminal(bool inherit)
    {
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-daemon-stdio-");
        var pidfile = Path.Combine(dir.FullName, "app.pid");
        var output = Path.Combine(dir.FullName, "out.log");
        using var launcher = StartInShell($"exec >{output} 2>&1;", ["-D", .. inherit ? ["-R"] : Array.Empty<string>(), "-w", "1", "-p", pidfile, "-b", $"127.0.0.1:{port}", App]);
        Assert.Equal(0, launcher.WaitForExit());
        Assert.True(Poll(() => File.Exists(pidfile), 30), launcher.Log);
        var daemon = int.Parse(File.ReadAllText(pidfile).Trim(), CultureInfo.InvariantCulture);
        try
        {
            Assert.True(Poll(() => TryGet(port, "/") == 200, 60));
            if (inherit)
            {
                Assert.True(Poll(() => File.ReadAllText(output).Contains("Booting worker", StringComparison.Ordinal), 30), File.ReadAllText(output));
            }
            else
            {
                Assert.DoesNotContain("Booting worker", File.ReadAllText(output), StringComparison.Ordinal);
            }
        }
        finally
        {
            Signal(daemon, SIGTERM);
        }

        Assert.True(Poll(() => !File.Exists(pidfile), 30));
        dir.Delete(recursive: true);
    }

    /// <summary>
    /// USR2 under -D -p: the new master writes PIDFILE.2 and, when the old master is stopped, takes the
    /// configured name, so `kill -HUP $(cat PIDFILE)` keeps working (as Gunicorn 20.1).
    /// </summary>
    [Fact]
    public void Usr2OfADaemonWritesPid2AndTheNewMasterTakesThePidfile()
    {
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-daemon-usr2-");
        var pidfile = Path.Combine(dir.FullName, "u.pid");
        var log = Path.Combine(dir.FullName, "error.log");
        string Log() => File.Exists(log) ? File.ReadAllText(log) : "(no log)";
        using var launcher = Start("-D", "-w", "1", "-p", pidfile, "--error-logfile", log, "-b", $"127.0.0.1:{port}", App);
        Assert.Equal(0, launcher.WaitForExit());
        Assert.True(Poll(() => File.Exists(pidfile), 30), launcher.Log);
        var old = int.Parse(File.ReadAllText(pidfile).Trim(), CultureInfo.InvariantCulture);
        var next = 0;
        try
        {
            Assert.True(Poll(() => TryGet(port, "/") == 200, 60), Log());

            Signal(old, SIGUSR2);
            Assert.True(Poll(() => File.Exists(pidfile + ".2"), 30), "no u.pid.2 after USR2; log:\n" + Log());
            next = int.Parse(File.ReadAllText(pidfile + ".2").Trim(), CultureInfo.InvariantCulture);
            Assert.NotEqual(old, next);
            Assert.True(Poll(() => WorkersOf(next).Count == 1, 60), Log());
            Assert.DoesNotContain("Master has been promoted.", Log(), StringComparison.Ordinal);

            Signal(old, SIGTERM);
            Assert.True(Poll(() => Gone(old), 30), Log());
            Assert.True(Poll(() => Pidfile(pidfile) == next && !File.Exists(pidfile + ".2"), 30), "u.pid must name the new master; log:\n" + Log());

            var before = WorkersOf(next);
            Signal(Pidfile(pidfile)!.Value, SIGHUP);
            Assert.True(Poll(() => WorkersOf(next) is { Count: 1 } now && !now.SequenceEqual(before), 60), "HUP via u.pid must replace the worker; log:\n" + Log());
            Assert.Equal(200, TryGet(port, "/"));
        }
        finally
        {
            // Every master of this test: the first, and any started by its USR2 (they carry GUNICORN_PID).
            var masters = Directory.EnumerateDirectories("/proc").Select(d => int.TryParse(Path.GetFileName(d), out var p) ? p : 0)
                .Where(p => p > 0 && StartedByUsr2Of(p, old))
                .Append(old).Append(next).Where(p => p > 0).Distinct().ToList();
            foreach (var master in masters.Where(m => Directory.Exists($"/proc/{m}")))
            {
                try
                {
                    Signal(master, SIGTERM);
                }
                catch (InvalidOperationException)
                {
                    // already gone
                }
            }

            Assert.True(Poll(() => masters.All(Gone), 30), $"masters still running: {string.Join(' ', masters.Where(m => !Gone(m)))}");
        }

        Assert.True(Poll(() => !File.Exists(pidfile), 30));
        dir.Delete(recursive: true);
    }

    private static bool StartedByUsr2Of(int pid, int master)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim() == "unicorn: master"
                && EnvironmentOf(pid).GetValueOrDefault("GUNICORN_PID") == master.ToString(CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Exited (no /proc entry, or a zombie its parent has not reaped yet).</summary>
    private static bool Gone(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/stat").Contains(") Z", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static int? Pidfile(string path) =>
        File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture, out var pid) ? pid : null;

    [Fact]
    public void ProcessTitlesNameMasterAndWorkers()
    {
        var port = FreePort();
        using var server = Start("-n", "e2e-title", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        var worker = Assert.Single(server.Workers());

        Assert.Equal("unicorn: master", File.ReadAllText($"/proc/{server.Pid}/comm").Trim());
        Assert.Equal("unicorn: worker", File.ReadAllText($"/proc/{worker}/comm").Trim());
        Assert.Equal("unicorn: worker [e2e-title]", File.ReadAllText($"/proc/{worker}/cmdline").TrimEnd('\0'));
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void WorkersRunAsUserAndGroupWhileTheMasterKeepsItsIdentity()
    {
        var port = FreePort();
        using var server = Start("-u", "nobody", "-g", "nogroup", "-b", $"127.0.0.1:{port}", App);
        if (geteuid() != 0)
        {
            // Without privilege the switch fails in the worker: a boot error, never a silent run as root.
            Assert.Equal(3, server.WaitForExit(60));
            return;
        }

        server.WaitUntilServing(port);
        var worker = Assert.Single(server.Workers());
        Assert.Contains("Uid:\t65534\t65534", File.ReadAllText($"/proc/{worker}/status"), StringComparison.Ordinal);
        Assert.Contains("Gid:\t65534\t65534", File.ReadAllText($"/proc/{worker}/status"), StringComparison.Ordinal);
        Assert.Contains("Uid:\t0\t0", File.ReadAllText($"/proc/{server.Pid}/status"), StringComparison.Ordinal);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void UnderUserAndGroupTheLogFilesAreTheWorkersSoUsr1ReopensThemAfterRotation()
    {
        // logrotate's postrotate USR1 with -u/-g: the workers (not root) reopen the files, so as in Gunicorn the
        // master gives them the files; without that every worker died of an unhandled exception on USR1.
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-usr1-user-");
        File.SetUnixFileMode(dir.FullName, (UnixFileMode)0x1ED /* 0755: the workers reach their files */);
        var log = Path.Combine(dir.FullName, "error.log");
        var access = Path.Combine(dir.FullName, "access.log");
        using var server = Start("-u", "nobody", "-g", "nogroup", "-w", "1", "--error-logfile", log, "--access-logfile", access,
            "-b", $"127.0.0.1:{port}", App);
        if (geteuid() != 0)
        {
            Assert.Equal(3, server.WaitForExit(60)); // the worker cannot switch user: a boot error, as above
            return;
        }

        server.WaitUntilServing(port);
        Assert.Equal("65534:65534", Owner(log));
        Assert.Equal("65534:65534", Owner(access));
        var worker = Assert.Single(server.Workers());

        File.Move(log, log + ".1");
        File.Move(access, access + ".1");
        server.Signal(SIGUSR1);
        Assert.True(Poll(() => File.Exists(log) && File.Exists(access), 20), "USR1 must recreate both logs");
        Assert.True(Poll(() => TryGet(port, "/after-rotation") == 200, 20));
        Assert.True(Poll(() => File.ReadAllText(access).Contains("/after-rotation", StringComparison.Ordinal), 20),
            "the worker must write to the reopened access log\n" + File.ReadAllText(log) + File.ReadAllText(log + ".1"));
        Assert.Equal([worker], server.Workers());
        Assert.Equal("65534:65534", Owner(access));
        Assert.DoesNotContain("Unhandled exception", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("Cannot reopen", File.ReadAllText(log), StringComparison.Ordinal);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
        dir.Delete(recursive: true);
    }

    private static string Owner(string path)
    {
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%u:%g", path])
        {
            RedirectStandardOutput = true,
        })!;
        var owner = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return owner;
    }

    [Fact]
    public void Usr1ReopensTheErrorLogAfterRotation()
    {
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-usr1-");
        var log = Path.Combine(dir.FullName, "error.log");
        using var server = Start("--error-logfile", log, "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);

        File.Move(log, log + ".1");
        server.Signal(SIGUSR1);
        Assert.True(Poll(() => File.Exists(log), 20), "USR1 must reopen (recreate) the error log");
        server.Signal(SIGTTIN);
        Assert.True(Poll(() => File.ReadAllText(log).Contains("Handling signal: ttin", StringComparison.Ordinal), 20));
        Assert.Contains("Handling signal: usr1", File.ReadAllText(log + ".1"), StringComparison.Ordinal);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
        dir.Delete(recursive: true);
    }

    [Fact]
    public void IntIsHandledEvenWhenStartedWithItIgnored()
    {
        // A non-interactive shell starts background jobs with INT and QUIT ignored.
        var port = FreePort();
        using var server = StartInShell("trap '' INT QUIT;", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);

        server.Signal(SIGINT);

        Assert.Equal(0, server.WaitForExit());
        Assert.Contains("Handling signal: int", server.Log, StringComparison.Ordinal);
        Assert.Contains("Shutting down: Master", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void HupAndTheOtherSignalsAreHandledEvenWhenStartedWithThemIgnored()
    {
        // nohup ignores HUP; a supervisor may hand down others ignored. Gunicorn (Python) handles them anyway.
        var port = FreePort();
        using var server = StartInShell("trap '' HUP TTIN TTOU USR1 USR2 WINCH TERM;", "-w", "1", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(1);

        server.Signal(SIGHUP);
        server.WaitForLog("Hang up: Master");
        server.Signal(SIGTTIN);
        server.WaitForWorkers(2);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
        Assert.Contains("Handling signal: term", server.Log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HupAddsAndDropsListenAddressesKeepingTheOnesStillBound(bool reusePort)
    {
        // The kept address is also held by the workers and the zygote: binding it again failed with "Can't connect"
        // after five retries, and the master died with a .NET stack trace. (With reuse_port the master's worker slots
        // are bound anew for the new addresses, and the old ones end with the workers that hold them.)
        var (first, second) = (FreePort(), FreePort());
        var config = Path.Combine(Directory.CreateTempSubdirectory("unicorn-rebind-").FullName, "conf.py");
        var common = $"workers = 1\nreuse_port = {(reusePort ? "True" : "False")}\n";
        File.WriteAllText(config, $"bind = ['127.0.0.1:{first}']\n{common}");
        using var server = Start("-c", config, App);
        server.WaitUntilServing(first);

        File.WriteAllText(config, $"bind = ['127.0.0.1:{first}', '127.0.0.1:{second}']\n{common}");
        server.Signal(SIGHUP);
        server.WaitForLog($"Listening at: http://127.0.0.1:{first},http://127.0.0.1:{second}");
        server.WaitUntilServing(second);
        Assert.Equal(200, Get(first, "/").Status);

        File.WriteAllText(config, $"bind = ['127.0.0.1:{second}']\n{common}");
        server.Signal(SIGHUP);
        Assert.True(Poll(() => server.Lines.Any(l => l.EndsWith($"Listening at: http://127.0.0.1:{second}", StringComparison.Ordinal)), 30), server.Log);
        Assert.True(Poll(() => TryGet(first, "/") is null, 30), "the dropped address still answers");
        Assert.Equal(200, Get(second, "/").Status);
        Assert.DoesNotContain("Can't connect", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("[WARNING] Zygote", server.Log, StringComparison.Ordinal); // stopped on purpose, for the new listeners

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void The_masters_hooks_see_raw_env_and_server_software_and_a_hup_takes_back_a_dropped_name()
    {
        // Gunicorn's arbiter sets SERVER_SOFTWARE and raw_env in its os.environ before on_starting, and a reload puts
        // back what the old raw_env set. The master's hooks saw neither (only the workers had them), and a name a HUP
        // dropped from raw_env stayed in the master's environment for every new worker.
        var port = FreePort();
        var config = Path.Combine(Directory.CreateTempSubdirectory("unicorn-masterenv-").FullName, "conf.py");
        const string Hooks = """
            import os
            def show(server, hook):
                server.log.info("%s sees %s", hook, " ".join("%s=%s" % (n, os.environ.get(n)) for n in ("SERVER_SOFTWARE", "KEPT", "DROPPED")))
            def on_starting(server):
                show(server, "on_starting")
            def on_reload(server):
                show(server, "on_reload")
            """;
        File.WriteAllText(config, $"workers = 1\nraw_env = ['KEPT=1', 'DROPPED=1']\n{Hooks}");
        using var server = Start("-c", config, "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForLog("on_starting sees");
        Assert.Matches(@"on_starting sees SERVER_SOFTWARE=unicorn/\S+ KEPT=1 DROPPED=1", server.Log);
        Assert.Equal("1", Get(port, "/env?name=DROPPED").Body);

        File.WriteAllText(config, $"workers = 1\nraw_env = ['KEPT=2']\n{Hooks}");
        server.Signal(SIGHUP);
        server.WaitForLog("on_reload sees");
        Assert.Matches(@"on_reload sees SERVER_SOFTWARE=unicorn/\S+ KEPT=2 DROPPED=None", server.Log);
        // The old worker may still take a connection as it stops: the new one is the one with KEPT=2.
        Assert.True(Poll(() => Get(port, "/env?name=KEPT").Body == "2" && Get(port, "/env?name=KEPT").Body == "2", 60), server.Log);
        Assert.True(Poll(() => Get(port, "/env?name=DROPPED").Body == "" && Get(port, "/env?name=KEPT").Body == "2", 30), server.Log);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void A_usr2_master_starts_from_the_launch_environment_so_a_name_the_new_config_drops_is_gone()
    {
        // Gunicorn execs the new master with the environment it was launched with (cfg.env_orig) plus GUNICORN_PID
        // and GUNICORN_FD. Unicorn passed its current one: the old raw_env and SERVER_SOFTWARE came along, so a name
        // the upgraded config file dropped from raw_env stayed set in the new master and all of its workers.
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-usr2env-");
        var config = Path.Combine(dir.FullName, "conf.py");
        var pidfile = Path.Combine(dir.FullName, "u.pid");
        // What the master's Python has of the hand-over once it took it: Gunicorn pops GUNICORN_FD as it binds and
        // GUNICORN_PID when it is promoted, so what a hook runs inherits neither.
        var hooks = $$"""
            import os, subprocess
            def note(name):
                child = subprocess.run(["env"], capture_output=True, text=True).stdout
                path = os.path.join({{JsonSerializer.Serialize(dir.FullName)}}, name + "-" + str(os.getpid()))
                with open(path + ".tmp", "w") as f:
                    f.write(" ".join(n for n in ("GUNICORN_FD", "GUNICORN_PID") if n in os.environ or n + "=" in child))
                os.replace(path + ".tmp", path)
            def when_ready(server):
                note("ready")
            def nworkers_changed(server, new, old):
                if old is not None:
                    note("count")
            """;
        File.WriteAllText(config, "workers = 1\nraw_env = ['KEPT=1', 'DROPPED=1']\n" + hooks);
        using var server = Start("-c", config, "-p", pidfile, "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(1);
        Assert.Equal("1", Get(port, "/env?name=DROPPED").Body);

        File.WriteAllText(config, "workers = 1\nraw_env = ['KEPT=2']\n" + hooks);
        server.Signal(SIGUSR2);
        Assert.True(Poll(() => File.Exists(pidfile + ".2"), 30), server.Log);
        var next = int.Parse(File.ReadAllText(pidfile + ".2").Trim(), CultureInfo.InvariantCulture);
        try
        {
            Assert.True(Poll(() => WorkersOf(next).Count == 1, 60), server.Log);
            var environ = EnvironmentOf(next);
            Assert.False(environ.ContainsKey("DROPPED"), "the new master was started with the old raw_env");
            Assert.False(environ.ContainsKey("SERVER_SOFTWARE"), "the new master was started with the old SERVER_SOFTWARE");
            Assert.Equal(server.Pid.ToString(CultureInfo.InvariantCulture), environ["GUNICORN_PID"]);
            Assert.True(environ.ContainsKey("GUNICORN_FD"));

            server.Signal(SIGTERM);
            Assert.Equal(0, server.WaitForExit());
            Assert.Equal("2", Get(port, "/env?name=KEPT").Body);
            Assert.Equal("", Get(port, "/env?name=DROPPED").Body);

            // Before the promotion GUNICORN_PID was still the new master's (it names the old one); after it, neither.
            var ready = Path.Combine(dir.FullName, $"ready-{next}");
            Assert.True(Poll(() => File.Exists(ready), 30));
            Assert.Equal("GUNICORN_PID", File.ReadAllText(ready));
            Assert.True(Poll(() => File.Exists(pidfile) && !File.Exists(pidfile + ".2"), 30), server.Log);
            Signal(next, SIGTTIN);
            var count = Path.Combine(dir.FullName, $"count-{next}");
            Assert.True(Poll(() => File.Exists(count), 30));
            Assert.Equal("", File.ReadAllText(count));
        }
        finally
        {
            Signal(next, SIGTERM);
        }

        Assert.True(Poll(() => !File.Exists(pidfile), 30), server.Log);
        dir.Delete(recursive: true);
    }

    [Fact]
    public void A_usr2_masters_hooks_see_proc_name_dot_2_until_it_is_promoted()
    {
        // Gunicorn's USR2 master is NAME.2 (server.proc_name, its title, its workers' titles) until the old master
        // exits. Unicorn's workers had the .2, but the new master's hooks saw the plain name.
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-usr2name-");
        var config = Path.Combine(dir.FullName, "conf.py");
        var pidfile = Path.Combine(dir.FullName, "u.pid");
        File.WriteAllText(config, """
            workers = 1
            proc_name = "upg"
            def when_ready(server):
                server.log.info("when_ready proc_name=[%s]", server.proc_name)
            def on_reload(server):
                server.log.info("on_reload proc_name=[%s]", server.proc_name)
            """);
        using var server = Start("-c", config, "-p", pidfile, "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForLog("when_ready proc_name=[upg]");

        server.Signal(SIGUSR2);
        Assert.True(Poll(() => File.Exists(pidfile + ".2"), 30), server.Log);
        var next = int.Parse(File.ReadAllText(pidfile + ".2").Trim(), CultureInfo.InvariantCulture);
        try
        {
            server.WaitForLog("when_ready proc_name=", 2);
            Assert.Contains("when_ready proc_name=[upg.2]", server.Log, StringComparison.Ordinal);

            server.Signal(SIGTERM);
            Assert.Equal(0, server.WaitForExit());
            Assert.True(Poll(() => Pidfile(pidfile) == next, 30), server.Log);
            Signal(next, SIGHUP);
            server.WaitForLog("on_reload proc_name=");
            Assert.Contains("on_reload proc_name=[upg]", server.Log, StringComparison.Ordinal);
        }
        finally
        {
            Signal(next, SIGTERM);
        }

        Assert.True(Poll(() => !File.Exists(pidfile), 30), server.Log);
        dir.Delete(recursive: true);
    }

    [Fact]
    public void A_burst_of_hups_boots_one_set_of_workers_not_one_per_hup_and_applies_the_last_config()
    {
        // Each HUP started a full set, and the booting sets of superseded HUPs were only stopped once the last was
        // ready: six HUPs 0.3 s apart with -w 2 ran 14-15 workers (about 1 GB) for 13-20 s. HUPs that come while the
        // last set boots are now applied together once it is up.
        var port = FreePort();
        var config = Path.Combine(Directory.CreateTempSubdirectory("unicorn-hupburst-").FullName, "conf.py");
        File.WriteAllText(config, "workers = 2\nraw_env = ['VERSION=0']\n");
        using var server = Start("-c", config, "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForWorkers(2);

        for (var i = 1; i <= 6; i++)
        {
            File.WriteAllText(config, $"workers = 2\nraw_env = ['VERSION={i}']\n");
            server.Signal(SIGHUP);
            Thread.Sleep(50);
        }

        Assert.True(Poll(() => server.Workers().Count == 2 && Get(port, "/env?name=VERSION").Body == "6" && Get(port, "/env?name=VERSION").Body == "6", 60), server.Log);
        // 2 at start and 2 per applied reload: one per HUP would be 14. However fast a set boots, HUPs 50 ms apart
        // make at most four reloads here (the first at once, the others as each set is up).
        var booted = server.Count("Booting worker with pid");
        Assert.True(booted <= 10, $"{booted} workers booted for six HUPs\n{server.Log}");

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void A_ttin_after_a_deferred_hup_still_counts_once_the_reload_is_applied()
    {
        // Gunicorn's HUP resets the count to `workers` and a TTIN after it adds one. A HUP deferred while the last
        // set boots was applied after the TTIN and reset the count over it: the TTIN was lost (2 workers, not 3).
        var port = FreePort();
        using var server = Start("-w", "2", "--log-level", "debug", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForLog("Booting worker with pid:", 2);

        server.Signal(SIGHUP);
        server.WaitForLog("Hang up: Master", 1);
        server.Signal(SIGHUP); // the first HUP's set is booting: deferred
        // Handled before the TTIN is sent: a TTIN handled first is reset by the HUP, as Gunicorn's. (Under load the
        // first HUP is deferred too, so its own "Reload deferred" line does not say that the second was handled.)
        server.WaitForLog("Hang up: Master", 2);
        server.WaitForLog("Reload deferred until", 1);
        server.Signal(SIGTTIN);
        server.WaitForLog("Handling signal: ttin", 1);

        // The deferred reload is applied, before or after the TTIN. (Under load the first HUP may find the first set
        // still booting too, and the two HUPs become one reload: the TTIN must count all the same.)
        static int LastReload(List<string> lines) => lines.FindLastIndex(l => l.Contains("Current configuration:", StringComparison.Ordinal));
        Assert.True(Poll(() =>
        {
            var lines = server.Lines;
            return LastReload(lines) > lines.FindLastIndex(l => l.Contains("Reload deferred until", StringComparison.Ordinal));
        }, 60), server.Log);

        // Three workers, all booted after that reload: none from before it stays on (the first fix kept one).
        List<int> BootedByTheLastReload()
        {
            var lines = server.Lines;
            const string booting = "Booting worker with pid: ";
            return lines.Skip(LastReload(lines))
                .Select(line => line.IndexOf(booting, StringComparison.Ordinal) is var at and >= 0
                    ? int.Parse(line[(at + booting.Length)..].Trim(), CultureInfo.InvariantCulture)
                    : 0)
                .Where(pid => pid != 0)
                .ToList();
        }

        Assert.True(Poll(() => server.Workers().Count == 3 && server.Workers().All(BootedByTheLastReload().Contains), 60), server.Log);
        Assert.Equal(200, Get(port, "/").Status);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void A_new_worker_runs_the_config_the_master_loaded_not_the_file_edited_since()
    {
        // Gunicorn's forked workers have what the master loaded; Unicorn's ran the file again, so an edit before the
        // HUP (a hook removed, a typo) made the next TTIN/max_requests worker fail to boot, which stopped the master.
        var port = FreePort();
        var config = Path.Combine(Directory.CreateTempSubdirectory("unicorn-snapshot-").FullName, "conf.py");
        File.WriteAllText(config, "def post_worker_init(worker):\n    worker.log.info('hook version 1')\n");
        using var server = Start("-c", config, "-w", "1", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        server.WaitForLog("hook version 1");

        File.WriteAllText(config, "def post_worker_init(worker):\n    worker.log.info('hook version 2')\nthis is not python\n");
        server.Signal(SIGTTIN);
        server.WaitForLog("hook version 1", times: 2);
        server.WaitForWorkers(2);
        Assert.DoesNotContain("hook version 2", server.Log, StringComparison.Ordinal);

        // A HUP reads the file: refused while it does not load, applied once it does.
        server.Signal(SIGHUP);
        server.WaitForLog("Error reloading the configuration, keeping the current one");
        File.WriteAllText(config, "def post_worker_init(worker):\n    worker.log.info('hook version 2')\n");
        server.Signal(SIGHUP);
        server.WaitForLog("hook version 2");
        Assert.Equal(200, Get(port, "/").Status);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Theory]
    [InlineData("--no-sendfile")]
    [InlineData("--preload")]
    public void With_chdir_the_start_directory_stays_importable(string option)
    {
        // Gunicorn adds the start directory to sys.path, loads the config, then changes to --chdir and adds that:
        // an app module beside the start directory imports in every worker. Unicorn's workers had only --chdir.
        var port = FreePort();
        var elsewhere = Directory.CreateTempSubdirectory("unicorn-chdir-").FullName;
        using var server = Start("--chdir", elsewhere, option, "-w", "1", "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        Assert.Equal(200, Get(port, "/").Status);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Fact]
    public void TheHeartbeatFileLivesUnlinkedInWorkerTmpDir()
    {
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-tmpdir-");
        using var server = Start("--worker-tmp-dir", dir.FullName, "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        var worker = Assert.Single(server.Workers());

        var targets = Directory.GetFiles($"/proc/{worker}/fd").Select(fd => new FileInfo(fd).LinkTarget ?? "").ToList();
        Assert.Contains(targets, t => t.StartsWith(Path.Combine(dir.FullName, "wunicorn-"), StringComparison.Ordinal) && t.EndsWith("(deleted)", StringComparison.Ordinal));
        Assert.Empty(dir.GetFileSystemInfos());
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
        dir.Delete();
    }

    [Theory]
    [InlineData("/nonexistent-unicorn-tmpdir", "Error: /nonexistent-unicorn-tmpdir doesn't exist. Can't create workertmp.")]
    [InlineData("/etc/hostname", "Error: /etc/hostname doesn't exist. Can't create workertmp.")]
    [InlineData("/proc", "Error: can't create workertmp in /proc: ")]
    public void AWorkerTmpDirThatCannotHoldTheHeartbeatStopsTheMasterInOneLine(string dir, string line)
    {
        // Gunicorn's master stops when it cannot create a worker's tmp file; Unicorn retried every second for
        // ever with no worker (or, for a directory it may not write to, ended with a .NET stack trace).
        var port = FreePort();
        using var server = Start("--worker-tmp-dir", dir, "-b", $"127.0.0.1:{port}", App);
        Assert.Equal(1, server.WaitForExit(30));
        Assert.Contains(line, server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("Booting worker", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void AHupToAWorkerTmpDirThatCannotHoldTheHeartbeatKeepsTheRunningConfiguration()
    {
        var port = FreePort();
        var dir = Directory.CreateTempSubdirectory("unicorn-tmpdir-hup-");
        var config = Path.Combine(dir.FullName, "gunicorn.conf.py");
        File.WriteAllText(config, "workers = 1\n");
        using var server = Start("-c", config, "-b", $"127.0.0.1:{port}", App);
        server.WaitUntilServing(port);
        var worker = Assert.Single(server.Workers());

        File.WriteAllText(config, "workers = 1\nworker_tmp_dir = '/nonexistent-unicorn-tmpdir'\n");
        server.Signal(SIGHUP);
        server.WaitForLog("Error reloading the configuration, keeping the current one: /nonexistent-unicorn-tmpdir doesn't exist. Can't create workertmp.");
        Assert.Equal(200, TryGet(port, "/"));
        Assert.Equal([worker], server.Workers());

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
        Assert.DoesNotContain("Cannot start a worker", server.Log, StringComparison.Ordinal);
        dir.Delete(recursive: true);
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern uint geteuid();
}
