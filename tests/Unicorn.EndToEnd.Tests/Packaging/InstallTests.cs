using System.Text.RegularExpressions;
using Unicorn.EndToEnd.Tests.Arbiter;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Packaging;

/// <summary>
/// The wheel, installed with pip into a virtualenv, serves a startproject Django project as
/// `unicorn myproj.wsgi`; the systemd and supervisor examples of docs/deploy.md (packaging/systemd,
/// packaging/supervisor) run it for real, with /srv/myproj swapped for the test's directories.
/// </summary>
[Collection(WheelCollection.Name)]
public sealed partial class InstallTests(WheelFixture wheel)
{
    [Fact]
    public void VirtualenvScriptServesDjangoWithoutActivation()
    {
        var port = FreePort();
        using var server = StartProgram(wheel.VenvUnicorn, wheel.Project, WheelFixture.CleanEnvironment(), "myproj.wsgi", "-b", $"127.0.0.1:{port}");
        server.WaitUntilServing(port);
        var (status, body) = Get(port, "/");
        Assert.Equal(200, status);
        Assert.Contains("The install worked successfully!", body, StringComparison.Ordinal);
        // The log is read from a pipe on another thread: wait for the line rather than race the reader.
        server.WaitForLog("Booting worker with pid:", seconds: 30);
        // The installed program is the native build and forks its workers from the zygote, as ./unicorn does.
        Assert.DoesNotContain("Cannot start the zygote", server.Log, StringComparison.Ordinal);
        Assert.Contains(ChildrenOf(server.Pid), UnicornServer.IsZygote);
        Assert.Contains("/libunicorn.so", File.ReadAllText($"/proc/{server.Workers()[0]}/maps"), StringComparison.Ordinal);
    }

    [Fact]
    public void VirtualenvScriptServesWithTheVirtualenvsPython()
    {
        var port = FreePort();
        var control = Path.Combine(wheel.Root, $"ctl-{port}.sock");
        using var server = StartProgram(wheel.VenvUnicorn, wheel.Project, WheelFixture.CleanEnvironment(), "whichpython:app", "-b", $"127.0.0.1:{port}", "--control-socket", control);
        server.WaitUntilServing(port);
        Assert.Equal(wheel.Venv, Get(port, "/").Body);

        // The wheel installs unicornctl beside unicorn.
        using (var ctl = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(Path.Combine(wheel.Venv, "bin", "unicornctl"), ["-s", control, "-c", "show workers"])
        {
            RedirectStandardOutput = true,
        })!)
        {
            var output = ctl.StandardOutput.ReadToEnd();
            Assert.True(ctl.WaitForExit(TimeSpan.FromSeconds(60)));
            Assert.Equal(0, ctl.ExitCode);
            Assert.Contains("Total: 1 workers", output, StringComparison.Ordinal);
        }

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    /// <summary>
    /// Gunicorn's Custom Application example, its import changed to unicorn_server.app.base, run by the
    /// virtualenv's python: run() finds the wheel's own binary and becomes the master.
    /// </summary>
    [Fact]
    public void TheVirtualenvsPythonRunsGunicornsCustomApplicationExample()
    {
        var script = Path.Combine(wheel.Root, "standalone_app.py");
        File.WriteAllText(script, BaseApplicationTests.Standalone);
        var port = FreePort();
        using var server = StartProgram(Path.Combine(wheel.Venv, "bin", "python"), wheel.Root, WheelFixture.CleanEnvironment(), script, $"127.0.0.1:{port}");
        server.WaitUntilServing(port);
        Assert.Equal((200, "Works fine"), Get(port, "/"));
        Assert.Contains($"[{server.Pid}] [INFO] Starting unicorn", server.Log, StringComparison.Ordinal);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    /// <summary>
    /// `use = egg:unicorn-server#main` in [server:main], as Pyramid projects write `egg:gunicorn#main`: pserve finds the
    /// wheel's paste.server_runner and its process becomes the master (same pid), serving the ini's app on the
    /// section's host and port. Without the entry point pserve stops with "Entry point 'main' not found in egg 'unicorn-server'".
    /// </summary>
    [Fact]
    public void PserveRunsTheIniWithEggUnicornMain()
    {
        var dir = Directory.CreateDirectory(Path.Combine(wheel.Root, "pserve")).FullName;
        File.WriteAllText(Path.Combine(dir, "pastedapp.py"), """
            def factory(global_config, **settings):
                body = ("%s %s" % (settings["greeting"], global_config["here"])).encode()

                def app(environ, start_response):
                    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
                    return [body]
                return app
            """);
        var port = FreePort();
        File.WriteAllText(Path.Combine(dir, "development.ini"), $"""
            [app:main]
            use = call:pastedapp:factory
            greeting = hello

            [server:main]
            use = egg:unicorn-server#main
            host = 127.0.0.1
            port = {port}
            workers = 1
            """);
        using var server = StartProgram(Path.Combine(wheel.Venv, "bin", "python"), dir, WheelFixture.CleanEnvironment(),
            "-m", "pyramid.scripts.pserve", "development.ini");
        server.WaitUntilServing(port);
        Assert.Equal((200, $"hello {dir}"), Get(port, "/"));
        // Output is read asynchronously: under CI's load the line can come after the first response.
        server.WaitForLog($"[{server.Pid}] [INFO] Starting unicorn");
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    /// <summary>The wheel also installs unicorn_dirty, so a DirtyApp can be imported and tested outside the server.</summary>
    [Fact]
    public void TheWheelInstallsTheDirtyModuleForUseOutsideTheServer()
    {
        var output = WheelFixture.Run(Path.Combine(wheel.Venv, "bin", "python"), wheel.Root, "-c",
            "import unicorn_dirty as d\nclass A(d.DirtyApp):\n    def double(self, x): return 2 * x\na = A(); a.init(); print(a('double', 21))");
        Assert.Equal("42", output.Trim());
    }

    [Fact]
    public void SystemdSocketActivationServesTheExampleService()
    {
        const string activate = "/usr/bin/systemd-socket-activate";
        Assert.True(File.Exists(activate), $"{activate} is missing: install the Debian package systemd");
        var service = File.ReadAllText(Path.Combine(RepoRoot, "packaging", "systemd", "unicorn.service"));
        var socket = File.ReadAllText(Path.Combine(RepoRoot, "packaging", "systemd", "unicorn.socket"));
        Assert.Matches(@"(?m)^ListenStream=", socket);
        var execStart = Localize(Directive(service, "ExecStart")).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var workingDirectory = Localize(Directive(service, "WorkingDirectory"));

        var port = FreePort();
        using var server = StartProgram(activate, workingDirectory, WheelFixture.CleanEnvironment(), ["-l", $"127.0.0.1:{port}", .. execStart]);
        // systemd-socket-activate binds, then starts the service on the first connection.
        server.WaitForLog($"Listening on 127.0.0.1:{port}");
        var (status, body) = Get(port, "/", 60);
        Assert.Equal(200, status);
        Assert.Contains("The install worked successfully!", body, StringComparison.Ordinal);
        server.WaitForLog($"Listening at: http://127.0.0.1:{port}");
        server.WaitForWorkers(3);

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
        Assert.Contains("Shutting down: Master", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void SupervisorRunsAndStopsTheExampleProgram()
    {
        const string supervisord = "/usr/bin/supervisord";
        Assert.True(File.Exists(supervisord), $"{supervisord} is missing: install the Debian package supervisor");
        var dir = Directory.CreateTempSubdirectory("unicorn-supervisor-").FullName;
        var port = FreePort();
        var program = Localize(File.ReadAllText(Path.Combine(RepoRoot, "packaging", "supervisor", "unicorn.conf")))
            .Replace("127.0.0.1:8000", $"127.0.0.1:{port}", StringComparison.Ordinal)
            .Replace("/var/log/unicorn.log", Path.Combine(dir, "unicorn.log"), StringComparison.Ordinal);
        // Running as www-data needs a real /srv; the rest of the program section is used as written.
        program = UserLine().Replace(program, "");
        var config = Path.Combine(dir, "supervisord.conf");
        File.WriteAllText(config, $"""
            [supervisord]
            logfile={dir}/supervisord.log
            pidfile={dir}/supervisord.pid
            childlogdir={dir}
            nodaemon=true

            [unix_http_server]
            file={dir}/supervisor.sock

            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

            [supervisorctl]
            serverurl=unix://{dir}/supervisor.sock

            {program}
            """);
        List<int> masters = [];
        using var supervisor = StartProgram(supervisord, dir, WheelFixture.CleanEnvironment(), "-n", "-c", config);
        try
        {
            supervisor.WaitUntilServing(port);
            masters = ChildrenOf(supervisor.Pid);
            var master = Assert.Single(masters);
            Assert.True(Poll(() => WorkersOf(master).Count == 3, 30), $"expected 3 workers, have {WorkersOf(master).Count}");
            Assert.Contains("The install worked successfully!", Get(port, "/").Body, StringComparison.Ordinal);

            var stopped = WheelFixture.Run("/usr/bin/supervisorctl", dir, "-c", config, "stop", "unicorn");
            Assert.Contains("unicorn: stopped", stopped, StringComparison.Ordinal);
            Assert.False(Directory.Exists($"/proc/{master}"), "the master is still running after supervisorctl stop");
            var log = File.ReadAllText(Path.Combine(dir, "unicorn.log"));
            Assert.Contains("Handling signal: term", log, StringComparison.Ordinal);
            Assert.Contains("Shutting down: Master", log, StringComparison.Ordinal);
            Assert.Null(TryGet(port, "/"));
            Assert.Matches(@"stopped: unicorn \(exit status 0\)", File.ReadAllText(Path.Combine(dir, "supervisord.log")));

            supervisor.Signal(SIGTERM);
            supervisor.WaitForExit();
        }
        finally
        {
            foreach (var master in masters.Where(m => Directory.Exists($"/proc/{m}")))
            {
                foreach (var worker in WorkersOf(master))
                {
                    Signal(worker, SIGKILL);
                }

                Signal(master, SIGKILL);
            }

            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The examples' /srv/myproj paths, pointed at this run's virtualenv and project.</summary>
    private string Localize(string text) =>
        text.Replace("/srv/myproj/venv", wheel.Venv, StringComparison.Ordinal).Replace("/srv/myproj", wheel.Project, StringComparison.Ordinal);

    private static string Directive(string unit, string name) =>
        Regex.Match(unit, $@"(?m)^{name}=(.+)$") is { Success: true } m ? m.Groups[1].Value.Trim() : throw new InvalidOperationException($"{name}= missing");

    [GeneratedRegex(@"(?m)^user=.*\n")]
    private static partial Regex UserLine();
}
