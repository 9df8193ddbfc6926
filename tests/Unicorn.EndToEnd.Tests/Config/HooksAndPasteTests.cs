using System.Globalization;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Config;

/// <summary>Server hooks through a real lifecycle, and --paste serving from an ini's [server:main].</summary>
public sealed class HooksAndPasteTests : IDisposable
{
    private const int SigHup = 1;
    private const int SigQuit = 3;
    private const int SigTerm = 15;
    private const int SigTtin = 21;

    // Every hook appends "name details" to $HOOK_LOG; details show the objects Gunicorn passes.
    private const string EveryHook = """
        import os

        def note(*parts):
            with open(os.environ["HOOK_LOG"], "a") as f:
                f.write(" ".join(str(p) for p in parts) + "\n")

        def on_starting(server):
            note("on_starting", server.pid == os.getpid(), server.cfg.workers)

        def on_reload(server):
            note("on_reload", server.pid == os.getpid(), server.num_workers)

        def when_ready(server):
            note("when_ready", server.num_workers)
            server.log.info("hooks: ready")

        def pre_fork(server, worker):
            note("pre_fork", worker.age)

        def post_fork(server, worker):
            note("post_fork", worker.pid == os.getpid(), server.pid == os.getppid())

        def post_worker_init(worker):
            note("post_worker_init", worker.pid == os.getpid())

        def worker_int(worker):
            note("worker_int", worker.pid == os.getpid())

        def worker_abort(worker):
            note("worker_abort", worker.pid)

        def pre_exec(server):
            note("pre_exec")

        def pre_request(worker, req):
            note("pre_request", req.method, req.path, dict(req.headers).get("X-TAG"))

        def post_request(worker, req, environ, resp):
            note("post_request", req.path, resp.status_code, environ["PATH_INFO"], environ["REQUEST_METHOD"])

        def child_exit(server, worker):
            note("child_exit", worker.pid > 0)

        def worker_exit(server, worker):
            note("worker_exit", worker.pid == os.getpid())

        def nworkers_changed(server, new_value, old_value):
            note("nworkers_changed", new_value, old_value)

        def on_exit(server):
            note("on_exit")
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-e2e-hooks-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string HookLog => Path.Combine(_dir, "hooks.log");

    private List<string> Notes() => File.Exists(HookLog) ? [.. File.ReadAllLines(HookLog)] : [];

    private bool Noted(string line) => Notes().Contains(line);

    [Fact]
    public void Every_hook_fires_through_start_request_ttin_hup_quit_and_term()
    {
        var config = Path.Combine(_dir, "hooks.conf.py");
        File.WriteAllText(config, EveryHook);
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(new Dictionary<string, string> { ["HOOK_LOG"] = HookLog },
            "-c", config, "-b", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "-w", "1", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForLog("hooks: ready");
        Assert.Equal(200, UnicornServer.Get(port, "/pid").Status);
        Assert.True(UnicornServer.Poll(() => Noted("post_request /pid 200 /pid GET"), 10), string.Join('\n', Notes()));

        server.Signal(SigTtin);
        server.WaitForWorkers(2);
        Assert.True(UnicornServer.Poll(() => Noted("nworkers_changed 2 1"), 10), string.Join('\n', Notes()));

        server.Signal(SigHup);
        // As in Gunicorn, a reload goes back to the configured worker count, before on_reload runs.
        Assert.True(UnicornServer.Poll(() => Noted("on_reload True 1") && Notes().Count(n => n == "worker_exit True") >= 2, 30), string.Join('\n', Notes()));
        server.WaitForWorkers(1);

        var worker = server.Workers()[0];
        UnicornServer.Signal(worker, SigQuit);
        Assert.True(UnicornServer.Poll(() => Noted("worker_int True"), 30), string.Join('\n', Notes()));
        server.WaitForWorkers(1);

        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(60));

        var notes = Notes();
        foreach (var expected in new[]
        {
            "on_starting True 1", "when_ready 1", "pre_fork 1", "post_fork True True", "post_worker_init True",
            "nworkers_changed 1 None", "pre_request GET /pid None", "post_request /pid 200 /pid GET", "nworkers_changed 2 1",
            "on_reload True 1", "nworkers_changed 1 2", "worker_exit True", "child_exit True", "worker_int True", "on_exit",
        })
        {
            Assert.True(notes.Contains(expected), $"missing '{expected}' in:\n{string.Join('\n', notes)}");
        }

        // Gunicorn's arbiter sets its worker count, calling nworkers_changed, before it starts.
        Assert.Equal(["nworkers_changed 1 None", "on_starting True 1"], notes[..2]);
        Assert.Equal("on_exit", notes[^1]);
    }

    // Gunicorn's examples/when_ready.conf.py, its memory watcher reduced to a file as the trigger: a thread
    // when_ready starts reads server.WORKERS and calls server.kill_worker long after the hook returned.
    private const string Watcher = """
        import os
        import signal
        import threading
        import time

        def note(*parts):
            with open(os.environ["HOOK_LOG"], "a") as f:
                f.write(" ".join(str(p) for p in parts) + "\n")

        class Watch(threading.Thread):
            def __init__(self, server):
                super().__init__()
                self.daemon = True
                self.server = server
                self.timeout = server.timeout / 100

            def run(self):
                while True:
                    workers = sorted(self.server.WORKERS.items())
                    note("workers", self.server.num_workers, *[pid for pid, _ in workers])
                    trigger = os.environ["HOOK_LOG"] + ".kill"
                    if os.path.exists(trigger) and workers:
                        os.unlink(trigger)
                        pid, worker = workers[0]
                        self.server.log.info("Pid %s killed (age %s)", pid, worker.age > 0)
                        self.server.kill_worker(pid, signal.SIGTERM)
                    time.sleep(self.timeout)

        def when_ready(server):
            for listener in server.LISTENERS:
                note("listener", listener, listener.getsockname()[1])
            Watch(server).start()
        """;

    [Fact]
    public void A_thread_when_ready_started_sees_the_workers_live_and_kills_one()
    {
        var config = Path.Combine(_dir, "watch.conf.py");
        File.WriteAllText(config, Watcher);
        var port = UnicornServer.FreePort();
        var bind = $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        using var server = UnicornServer.Start(new Dictionary<string, string> { ["HOOK_LOG"] = HookLog },
            "-c", config, "-b", bind, "-w", "2", "-t", "30", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForWorkers(2);
        Assert.Contains($"listener http://{bind} {port.ToString(CultureInfo.InvariantCulture)}", Notes());

        bool Seen(List<int> workers, int count) => Noted($"workers {count} {string.Join(' ', workers.Order())}");
        var first = server.Workers();
        Assert.True(UnicornServer.Poll(() => Seen(first, 2), 10), string.Join('\n', Notes()));

        File.WriteAllText(HookLog + ".kill", "");
        var victim = first.Min();
        server.WaitForLog($"Pid {victim} killed (age True)");
        Assert.True(UnicornServer.Poll(() => server.Workers() is { Count: 2 } now && !now.Contains(victim), 30), server.Log);
        var second = server.Workers();
        Assert.True(UnicornServer.Poll(() => Seen(second, 2), 10), string.Join('\n', Notes()));

        // TTIN and a HUP (which loads the hooks again): the thread the first when_ready started sees both.
        server.Signal(SigTtin);
        server.WaitForWorkers(3);
        Assert.True(UnicornServer.Poll(() => Seen(server.Workers(), 3), 10), string.Join('\n', Notes()));
        server.Signal(SigHup);
        Assert.True(UnicornServer.Poll(() => server.Workers() is { Count: 2 } now && !now.Intersect(second).Any(), 60), server.Log);
        Assert.True(UnicornServer.Poll(() => Seen(server.Workers(), 2), 10), string.Join('\n', Notes()));

        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.DoesNotContain("Traceback", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void Child_exit_and_on_exit_see_the_workers_and_listeners_that_are_left()
    {
        // Gunicorn's arbiter takes a reaped worker out of WORKERS before child_exit, and on_exit finds no workers and no
        // listeners. Unicorn's hooks saw the state of the loop's last turn: the worker that had just gone, and at on_exit
        // every worker and listener of the running server.
        var config = Path.Combine(_dir, "exit.conf.py");
        File.WriteAllText(config, """
            import os

            def note(*parts):
                with open(os.environ["HOOK_LOG"], "a") as f:
                    f.write(" ".join(str(p) for p in parts) + "\n")

            def child_exit(server, worker):
                note("child_exit", worker.pid in server.WORKERS, len(server.WORKERS))

            def on_exit(server):
                note("on_exit", len(server.WORKERS), len(server.LISTENERS))
            """);
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(new Dictionary<string, string> { ["HOOK_LOG"] = HookLog },
            "-c", config, "-b", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "-w", "2", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForWorkers(2);

        server.Signal(UnicornServer.SIGTTOU);
        Assert.True(UnicornServer.Poll(() => Notes().Count > 0, 30), server.Log);
        Assert.Equal(["child_exit False 1"], Notes());

        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.Equal(["child_exit False 1", "child_exit False 0", "on_exit 0 0"], Notes());
    }

    [Fact]
    public void The_masters_hooks_run_in_chdir_and_import_from_chdir_and_pythonpath()
    {
        // Gunicorn puts --chdir and --pythonpath on the master's sys.path before its hooks run (an on_starting that
        // imports the project's settings). The master's Python, started to read the config file, never had them. Its
        // first hook, nworkers_changed, also ran before the master chdir'd and set SERVER_SOFTWARE.
        var project = Directory.CreateDirectory(Path.Combine(_dir, "project")).FullName;
        var lib = Directory.CreateDirectory(Path.Combine(_dir, "lib")).FullName;
        File.WriteAllText(Path.Combine(project, "project_settings.py"), "NAME = 'from chdir'\n");
        File.WriteAllText(Path.Combine(lib, "lib_settings.py"), "NAME = 'from pythonpath'\n");
        var config = Path.Combine(_dir, "import.conf.py");
        File.WriteAllText(config, """
            import os

            def note(*parts):
                with open(os.environ["HOOK_LOG"], "a") as f:
                    f.write(" ".join(str(p) for p in parts) + "\n")

            def nworkers_changed(server, new_value, old_value):
                note("nworkers_changed", os.getcwd() == os.environ["PROJECT"], os.environ.get("SERVER_SOFTWARE", "")[:8])

            def on_starting(server):
                import project_settings
                import lib_settings
                note("on_starting", project_settings.NAME, "/", lib_settings.NAME)
            """);
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(new Dictionary<string, string> { ["HOOK_LOG"] = HookLog, ["PROJECT"] = project },
            "-c", config, "--chdir", project, "--pythonpath", lib, "-b", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        Assert.Equal(["nworkers_changed True unicorn/", "on_starting from chdir / from pythonpath"], Notes());
        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void The_config_file_and_the_masters_hooks_see_the_command_line_in_sys_argv()
    {
        // As Gunicorn's config file and arbiter see its own command line (the workers already saw Unicorn's): the
        // master's Python had .NET's, which begins with the managed assembly, unicorn.dll.
        var config = Path.Combine(_dir, "argv.conf.py");
        File.WriteAllText(config, """
            import os
            import sys

            def note(*parts):
                with open(os.environ["HOOK_LOG"], "a") as f:
                    f.write(" ".join(str(p) for p in parts) + "\n")

            note("module", os.path.basename(sys.argv[0]), *sys.argv[1:3])

            def on_starting(server):
                note("on_starting", os.path.basename(sys.argv[0]), *sys.argv[1:3])
            """);
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(new Dictionary<string, string> { ["HOOK_LOG"] = HookLog },
            "-c", config, "-b", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(60));
        // The file runs again in the worker, which had the command line already.
        Assert.Equal([$"module unicorn -c {config}", $"on_starting unicorn -c {config}"], Notes().Distinct().Take(2));
        Assert.All(Notes(), n => Assert.Contains(" unicorn -c ", n, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("sync", false)]
    [InlineData("sync", true)]
    [InlineData("gevent", false)]
    public void What_a_config_file_without_hooks_sets_in_os_environ_and_sys_path_reaches_the_app(string workerClass, bool preload)
    {
        // Gunicorn's workers inherit what the file did in the master; the app module imports from the added directory.
        var lib = Directory.CreateDirectory(Path.Combine(_dir, "lib")).FullName;
        File.WriteAllText(Path.Combine(lib, "conf_app.py"), """
            import os
            import sys

            def app(environ, start_response):
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [os.environ.get("FROM_CONF", "unset").encode()]
            """);
        var config = Path.Combine(_dir, "env.conf.py");
        File.WriteAllText(config, $"""
            import os
            import sys
            os.environ["FROM_CONF"] = "set by the config"
            sys.path.insert(0, {System.Text.Json.JsonSerializer.Serialize(lib)})
            """);
        var port = UnicornServer.FreePort();
        string[] args = ["-c", config, "-b", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "-k", workerClass, .. preload ? new[] { "--preload" } : [], "conf_app:app"];
        using var server = UnicornServer.Start(args);
        server.WaitUntilServing(port);
        Assert.Equal((200, "set by the config"), UnicornServer.Get(port, "/"));
        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void A_hup_gives_new_workers_what_the_config_file_sets_in_os_environ_now()
    {
        var config = Path.Combine(_dir, "env.conf.py");
        File.WriteAllText(config, "import os\nos.environ['FROM_CONF'] = 'first'\n");
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("-c", config, "-b", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        Assert.Equal((200, "first"), UnicornServer.Get(port, "/env?name=FROM_CONF"));

        File.WriteAllText(config, "import os\nos.environ['FROM_CONF'] = 'second'\n");
        server.Signal(SigHup);
        Assert.True(UnicornServer.Poll(() => UnicornServer.TryGet(port, "/env") == 200 && UnicornServer.Get(port, "/env?name=FROM_CONF").Body == "second", 60), server.Log);
        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(60));
    }

    // goauthentik/authentik's lifecycle/gunicorn.conf.py numbers its workers: state kept on the server object across
    // master hooks, an id pre_fork sets on the worker and the worker's own hooks read, free ids found through WORKERS.
    private const string WorkerIds = """
        def on_starting(server):
            server._worker_id_overload = set()

        def nworkers_changed(server, new_value, old_value):
            server._worker_id_current_workers = new_value

        def _next_worker_id(server):
            if server._worker_id_overload:
                return server._worker_id_overload.pop()
            in_use = set(w._worker_id for w in tuple(server.WORKERS.values()) if w.alive)
            free = set(range(1, server._worker_id_current_workers + 1)) - in_use
            return free.pop()

        def on_reload(server):
            server._worker_id_overload = set(range(1, server.cfg.workers + 1))

        def pre_fork(server, worker):
            worker._worker_id = _next_worker_id(server)

        def post_worker_init(worker):
            worker.log.info("worker id %s in %s", worker._worker_id, worker.pid)

        def worker_exit(server, worker):
            worker.log.info("worker id %s exits", worker._worker_id)
        """;

    [Fact]
    public void What_pre_fork_sets_on_a_worker_reaches_the_worker_and_a_replacement_reuses_a_free_id()
    {
        var config = Path.Combine(_dir, "ids.conf.py");
        File.WriteAllText(config, WorkerIds);
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("-c", config, "-b", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "-w", "2", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForLog("worker id 1 in ");
        server.WaitForLog("worker id 2 in ");

        server.Signal(SigTtin);
        server.WaitForLog("worker id 3 in ");

        // A worker killed outright: its replacement takes the id it left (the others are in use).
        var line = server.Lines.First(l => l.Contains("worker id 2 in ", StringComparison.Ordinal));
        var victim = int.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        UnicornServer.Signal(victim, 9);
        server.WaitForLog("worker id 2 in ", times: 2);

        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.DoesNotContain("Traceback", server.Log, StringComparison.Ordinal);
        Assert.Equal(1, server.Count("worker id 1 in "));
        Assert.Equal(1, server.Count("worker id 3 in "));
    }

    [Fact]
    public void A_sigterm_handler_that_wraps_the_servers_runs_when_the_worker_stops()
    {
        // langgenius/dify api/gunicorn.conf.py (its drain on shutdown): post_worker_init wraps the worker's SIGTERM
        // handler, which must be callable, and chains to it.
        var config = Path.Combine(_dir, "drain.conf.py");
        File.WriteAllText(config, """
            import os
            import signal

            def post_worker_init(worker):
                original = signal.getsignal(signal.SIGTERM)
                if not callable(original):
                    raise RuntimeError("Gunicorn SIGTERM handler is not installed before post_worker_init")

                def drain(signum, frame):
                    with open(os.environ["HOOK_LOG"], "a") as f:
                        f.write("drain %d\n" % os.getpid())
                    original(signum, frame)

                signal.signal(signal.SIGTERM, drain)
            """);
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(new Dictionary<string, string> { ["HOOK_LOG"] = HookLog },
            "-c", config, "-b", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "-w", "2", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForWorkers(2);
        var workers = server.Workers();

        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.Equal(workers.Order().Select(p => $"drain {p}"), Notes().Order());
        Assert.DoesNotContain("Traceback", server.Log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, "True")]
    [InlineData(true, "False")]
    public void A_hooks_cfg_sendfile_is_gunicorns_derived_value(bool noSendfile, string expected)
    {
        // Gunicorn's cfg.sendfile is a property (True unless the setting was given); the hooks' cfg gave the raw None.
        var config = Path.Combine(_dir, "sendfile.conf.py");
        File.WriteAllText(config, """
            import os

            def on_starting(server):
                with open(os.environ["HOOK_LOG"], "a") as f:
                    f.write("sendfile %r\n" % (server.cfg.sendfile,))
            """);
        var port = UnicornServer.FreePort();
        string[] args = ["-c", config, "-b", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", .. noSendfile ? new[] { "--no-sendfile" } : [],
            "pyfixtures.arbiter_app:app"];
        using var server = UnicornServer.Start(new Dictionary<string, string> { ["HOOK_LOG"] = HookLog }, args);
        server.WaitUntilServing(port);
        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.Equal([$"sendfile {expected}"], Notes());
    }

    [Fact]
    public void A_sigterm_handler_a_master_hook_sets_runs_when_the_master_stops()
    {
        // Gunicorn's master runs a TERM handler when_ready installed (one that deregisters from service discovery, then
        // calls the arbiter's). Unicorn recorded it, said it would run, and never called it in the master.
        var config = Path.Combine(_dir, "term.conf.py");
        File.WriteAllText(config, """
            import os
            import signal

            def note(*parts):
                with open(os.environ["HOOK_LOG"], "a") as f:
                    f.write(" ".join(str(p) for p in parts) + "\n")

            def when_ready(server):
                previous = signal.getsignal(signal.SIGTERM)

                def deregister(signum, frame):
                    note("deregister", signum, os.getpid() == server.pid, callable(previous))
                    previous(signum, frame)

                signal.signal(signal.SIGTERM, deregister)
                server.log.info("term: set")
            """);
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(new Dictionary<string, string> { ["HOOK_LOG"] = HookLog },
            "-c", config, "-b", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        server.WaitForLog("term: set");
        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.Equal(["deregister 15 True True"], Notes());
    }

    [Fact]
    public void Worker_abort_fires_when_a_request_outlives_the_timeout()
    {
        var config = Path.Combine(_dir, "hooks.conf.py");
        File.WriteAllText(config, EveryHook);
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(new Dictionary<string, string> { ["HOOK_LOG"] = HookLog },
            "-c", config, "-b", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "-w", "1", "-t", "2", "pyfixtures.arbiter_app:app");
        server.WaitUntilServing(port);
        var stuck = server.Workers()[0];
        _ = Task.Run(() => UnicornServer.TryGet(port, "/sleep?s=30"));
        Assert.True(UnicornServer.Poll(() => Noted($"worker_abort {stuck}"), 30), string.Join('\n', Notes()) + "\n" + server.Log);
        server.Signal(SigTerm);
        server.WaitForExit(60);
    }

    [Fact]
    public void Paste_serves_a_pyramid_app_on_the_ini_port()
    {
        var port = UnicornServer.FreePort();
        File.WriteAllText(Path.Combine(_dir, "e2e_pyramid_app.py"), """
            from pyramid.config import Configurator
            from pyramid.response import Response

            def hello(request):
                return Response("pyramid " + request.registry.settings["greeting"])

            def main(global_config, **settings):
                with Configurator(settings=settings) as config:
                    config.add_route("home", "/")
                    config.add_view(hello, route_name="home")
                    return config.make_wsgi_app()
            """);
        var ini = Path.Combine(_dir, "pyramid.ini");
        File.WriteAllText(ini, $"""
            [app:main]
            use = call:e2e_pyramid_app:main
            greeting = hello

            [server:main]
            use = egg:gunicorn#main
            host = 127.0.0.1
            port = {port}
            workers = 1
            """);
        using var server = UnicornServer.Start(new Dictionary<string, string> { ["PYTHONPATH"] = _dir }, "--paste", ini);
        server.WaitUntilServing(port);
        Assert.Equal((200, "pyramid hello"), UnicornServer.Get(port, "/"));
        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void Paste_ini_logging_sections_govern_the_servers_own_lines_and_access_lines()
    {
        // Pyramid's production.ini shape with gunicorn.error and gunicorn.access loggers: Gunicorn's --paste makes the ini
        // its logconfig, so the master's and workers' lines take its levels and formatters, and access lines are written
        // to its handler although no --access-logfile is given.
        var port = UnicornServer.FreePort();
        File.WriteAllText(Path.Combine(_dir, "e2e_logged_app.py"), """
            import logging

            def factory(global_conf, **local):
                def app(environ, start_response):
                    if environ["PATH_INFO"] == "/logged":
                        logging.getLogger("e2e_logged_app").debug("view ran")
                    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
                    return [b"ok"]
                return app
            """);
        var ini = Path.Combine(_dir, "logged.ini");
        File.WriteAllText(ini, $"""
            [app:main]
            use = call:e2e_logged_app:factory

            [server:main]
            use = egg:gunicorn#main
            host = 127.0.0.1
            port = {port}
            workers = 1

            [loggers]
            keys = root, app, gunicorn.error, gunicorn.access

            [handlers]
            keys = console, errors, requests

            [formatters]
            keys = named

            [logger_root]
            level = WARN
            handlers = console

            [logger_app]
            level = DEBUG
            handlers = errors
            propagate = 0
            qualname = e2e_logged_app

            [logger_gunicorn.error]
            level = INFO
            handlers = errors
            propagate = 0
            qualname = gunicorn.error

            [logger_gunicorn.access]
            level = INFO
            handlers = requests
            propagate = 0
            qualname = gunicorn.access

            [handler_console]
            class = StreamHandler
            args = (sys.stderr,)
            formatter = named

            [handler_errors]
            class = FileHandler
            args = ('%(here)s/error.log', 'a')
            formatter = named

            [handler_requests]
            class = FileHandler
            args = ('%(here)s/access.log', 'a')
            formatter = named

            [formatter_named]
            format = %(name)s %(levelname)s %(message)s
            """);
        var errors = Path.Combine(_dir, "error.log");
        var access = Path.Combine(_dir, "access.log");
        using (var server = UnicornServer.Start(new Dictionary<string, string> { ["PYTHONPATH"] = _dir }, "--paste", ini))
        {
            server.WaitUntilServing(port);
            Assert.Equal((200, "ok"), UnicornServer.Get(port, "/logged"));
            Assert.True(UnicornServer.Poll(() => File.Exists(access) && File.ReadAllText(access).Contains("GET /logged", StringComparison.Ordinal), 10),
                "no access line in the ini's handler:\n" + server.Log);
            server.Signal(SigTerm);
            Assert.Equal(0, server.WaitForExit(60));
            Assert.DoesNotContain("[INFO]", server.Log, StringComparison.Ordinal); // nothing left on the default stderr handler
        }

        var text = File.ReadAllText(errors);
        Assert.Contains("gunicorn.error INFO Starting unicorn", text, StringComparison.Ordinal); // the master
        Assert.Matches(@"gunicorn\.error INFO Booting worker with pid: \d+", text); // a worker
        Assert.Contains("e2e_logged_app DEBUG view ran", text, StringComparison.Ordinal); // the app's logger, configured once
        Assert.Single(File.ReadAllLines(errors), l => l.Contains("view ran", StringComparison.Ordinal));
        Assert.Matches(@"gunicorn\.access INFO 127\.0\.0\.1 - - \[[^\]]+\] ""GET /logged HTTP/1\.[01]"" 200 2", File.ReadAllText(access));
    }

    [Fact]
    public void Paste_preload_builds_the_app_in_the_master_so_a_factory_that_raises_stops_it_before_any_worker()
    {
        // Gunicorn's --preload loads the paste app in the master; the zygote preloads only an APP_MODULE, so the master
        // checks a paste app itself, as it does when it spawns workers.
        File.WriteAllText(Path.Combine(_dir, "e2e_refusing_app.py"), """
            def factory(global_conf, **local):
                raise RuntimeError("factory refused")
            """);
        var ini = Path.Combine(_dir, "refusing.ini");
        File.WriteAllText(ini, "[app:main]\nuse = call:e2e_refusing_app:factory\n");
        using var server = UnicornServer.Start(new Dictionary<string, string> { ["PYTHONPATH"] = _dir },
            "--paste", ini, "--preload", "-w", "1", "-b", $"127.0.0.1:{UnicornServer.FreePort().ToString(CultureInfo.InvariantCulture)}");
        Assert.Equal(4, server.WaitForExit(60));
        Assert.True(UnicornServer.Poll(() => server.Lines.Any(l => l.Contains("RuntimeError: factory refused", StringComparison.Ordinal)), 15), server.Log);
        Assert.DoesNotContain("Booting worker", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void Paste_call_factory_with_paste_global()
    {
        var port = UnicornServer.FreePort();
        File.WriteAllText(Path.Combine(_dir, "e2e_call_app.py"), """
            def factory(global_conf, **local):
                body = (local["word"] + " " + global_conf["who"]).encode()
                def app(environ, start_response):
                    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
                    return [body]
                return app
            """);
        var ini = Path.Combine(_dir, "call.ini");
        File.WriteAllText(ini, $"[app:main]\nuse = call:e2e_call_app:factory\nword = hi\n\n[server:main]\nport = {port}\n");
        using var server = UnicornServer.Start(new Dictionary<string, string> { ["PYTHONPATH"] = _dir },
            "--paste", ini, "--paste-global", "who=there", "-b", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        server.WaitUntilServing(port);
        Assert.Equal((200, "hi there"), UnicornServer.Get(port, "/"));
        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(60));
    }
}
