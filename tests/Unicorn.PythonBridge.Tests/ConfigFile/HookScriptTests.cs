using System.Diagnostics;
using System.Text.Json;
using Unicorn.PythonBridge.ConfigFile;
using Unicorn.Wsgi.Config;

namespace Unicorn.PythonBridge.Tests.ConfigFile;

/// <summary>
/// The hooks' Python half, run by /usr/bin/python3 with the same arguments <see cref="PythonServerHooks"/> sends:
/// every process-level hook of a config file is called with Gunicorn's objects, and what it logs comes back.
/// </summary>
public sealed class HookScriptTests : IDisposable
{
    private const string EveryHook = """
        import os
        workers = 2
        OUT = os.path.join(os.path.dirname(__file__), "calls.txt")

        def note(*parts):
            with open(OUT, "a") as f:
                f.write(" ".join(str(p) for p in parts) + "\n")

        def on_starting(server):
            note("on_starting", server.pid, server.num_workers, server.cfg.workers, server.cfg.proc_name)
            server.log.info("starting %s", server.pid)

        def on_reload(server):
            note("on_reload", server.pid)

        def when_ready(server):
            note("when_ready", server.pid, server.cfg.bind)

        def pre_fork(server, worker):
            note("pre_fork", server.pid, worker.pid, worker.age)

        def post_fork(server, worker):
            note("post_fork", worker.pid, worker.ppid)

        def post_worker_init(worker):
            note("post_worker_init", worker.pid, worker.alive)
            worker.log.warning("warm")

        def worker_int(worker):
            note("worker_int", worker.pid)

        def worker_abort(worker):
            note("worker_abort", worker.pid)

        def pre_exec(server):
            note("pre_exec", server.pid)

        def child_exit(server, worker):
            note("child_exit", worker.pid, worker.exitcode)

        def worker_exit(server, worker):
            note("worker_exit", worker.pid)

        def nworkers_changed(server, new_value, old_value):
            note("nworkers_changed", new_value, old_value)

        def on_exit(server):
            note("on_exit", server.pid)
            try:
                server.cfg.no_such_setting
            except AttributeError as e:
                server.log.exception("lookup failed: %s", e)
            raise ValueError("bye")
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-hooks-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Every_process_hook_fires_with_gunicorns_arguments()
    {
        File.WriteAllText(Path.Combine(_dir, "gunicorn.conf.py"), EveryHook);
        var settings = SettingsResolver.Resolve(["app:app"], new Dictionary<string, string?>(), new ConfigScriptRunner(), _dir);
        var refs = PythonServerHooks.HookRefs(settings);
        Assert.Equal(13, refs.Count);

        var server = HookShapes.Server(new HookServer(100, 2, settings));
        var worker = HookShapes.Worker(new HookWorker(200, 1, true, 100, 0));
        var calls = new object[][]
        {
            ["on_starting", new[] { server }], ["when_ready", new[] { server }], ["pre_fork", new[] { server, worker }],
            ["post_fork", new[] { server, worker }], ["post_worker_init", new[] { worker }], ["nworkers_changed", new[] { server, HookShapes.Value(3), HookShapes.Value(null) }],
            ["on_reload", new[] { server }], ["worker_int", new[] { worker }], ["worker_abort", new[] { worker }],
            ["pre_exec", new[] { server }], ["worker_exit", new[] { server, worker }], ["child_exit", new[] { server, worker }],
            ["on_exit", new[] { server }],
        };
        var output = await RunHooks(settings, refs, calls);

        Assert.Equal(
            [
                "on_starting 100 2 2 app:app", "when_ready 100 ['127.0.0.1:8000']", "pre_fork 100 200 1", "post_fork 200 100",
                "post_worker_init 200 True", "nworkers_changed 3 None", "on_reload 100", "worker_int 200", "worker_abort 200",
                "pre_exec 100", "worker_exit 200", "child_exit 200 0", "on_exit 100",
            ],
            File.ReadAllLines(Path.Combine(_dir, "calls.txt")));
        Assert.Contains("""["on_starting", "ok", [[20, "starting 100", null]]]""", output, StringComparison.Ordinal);
        Assert.Contains("""["post_worker_init", "ok", [[30, "warm", null]]]""", output, StringComparison.Ordinal);
        var last = output.Trim().Split('\n')[^1];
        Assert.StartsWith("""["on_exit", "raised ValueError", [[40, "lookup failed: No configuration setting for: no_such_setting", "Traceback""", last, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_server_has_gunicorns_parsed_addresses()
    {
        // PostHog's gunicorn.config.py prints "http://{}:{}".format(*server.address[0]) in on_starting; without the
        // attribute the hook raised and the master stopped before binding.
        File.WriteAllText(Path.Combine(_dir, "gunicorn.conf.py"), """
            def on_starting(server):
                server.log.info("%r %r", server.address, server.cfg.address)
            """);
        var settings = SettingsResolver.Resolve(
            ["-b", "127.0.0.1:8001", "-b", "unix://tmp/nginx.socket", "-b", "[::1]:9", "-b", "fd://3", "-b", "Example.org", "app:app"],
            new Dictionary<string, string?>(), new ConfigScriptRunner(), _dir);
        var output = await RunHooks(settings, PythonServerHooks.HookRefs(settings),
            [["on_starting", new[] { HookShapes.Server(new HookServer(1, 1, settings)) }]]);
        const string parsed = "[('127.0.0.1', 8001), 'tmp/nginx.socket', ('::1', 9), 3, ('example.org', 8000)]";
        Assert.Equal($$"""["on_starting", "ok", [[20, "{{parsed}} {{parsed}}", null]]]""", output.Trim());
    }

    [Theory]
    [InlineData("Statsd.Example:9125", "('statsd.example', 9125)")]
    [InlineData("localhost", "('localhost', 8125)")]
    [InlineData("unix:8125", "('unix', 8125)")]
    [InlineData("[::1]:9", "('::1', 9)")]
    [InlineData("unix:///run/statsd.sock", "'/run/statsd.sock'")]
    public async Task Cfg_statsd_host_is_gunicorns_validated_form(string flag, string parsed)
    {
        File.WriteAllText(Path.Combine(_dir, "gunicorn.conf.py"), """
            def on_starting(server):
                server.log.info("%r", server.cfg.statsd_host)
            """);
        var settings = SettingsResolver.Resolve(["--statsd-host", flag, "app:app"], new Dictionary<string, string?>(), new ConfigScriptRunner(), _dir);
        var output = await RunHooks(settings, PythonServerHooks.HookRefs(settings),
            [["on_starting", new[] { HookShapes.Server(new HookServer(1, 1, settings)) }]]);
        Assert.Equal($$"""["on_starting", "ok", [[20, "{{parsed}}", null]]]""", output.Trim());
    }

    [Fact]
    public async Task Dotted_path_hooks_are_imported()
    {
        File.WriteAllText(Path.Combine(_dir, "myhooks.py"), "def ready(server):\n    server.log.info('dotted %d', server.num_workers)\n");
        File.WriteAllText(Path.Combine(_dir, "c.toml"), "when_ready = \"myhooks.ready\"\n");
        var settings = SettingsResolver.Resolve(["-c", "c.toml", "app:app"], new Dictionary<string, string?>(), null, _dir);
        var refs = PythonServerHooks.HookRefs(settings);
        var output = await RunHooks(settings, refs, [["when_ready", new[] { HookShapes.Server(new HookServer(1, 4, settings)) }]]);
        Assert.Equal("""["when_ready", "ok", [[20, "dotted 4", null]]]""", output.Trim());
    }

    [Fact]
    public async Task The_masters_server_object_shows_workers_and_listeners_live_and_kills_a_worker()
    {
        File.WriteAllText(Path.Combine(_dir, "gunicorn.conf.py"), """
            import os
            import signal

            def note(*parts):
                with open(os.path.join(os.path.dirname(__file__), "calls.txt"), "a") as f:
                    f.write(" ".join(str(p) for p in parts) + "\n")

            def when_ready(server):
                # Kept, as a thread when_ready starts keeps it; read again below after the master changed.
                global SERVER
                SERVER = server
                note("ready", server.num_workers, server.WORKERS, server.LISTENERS, server.timeout, server.proc_name)
            """);
        var settings = SettingsResolver.Resolve(["app:app", "-t", "12"], new Dictionary<string, string?>(), new ConfigScriptRunner(), _dir);
        var script = """
            import signal
            import socket
            import subprocess

            hooks.call("when_ready", sys.argv[7])
            child = subprocess.Popen(["sleep", "30"])
            listening = socket.socket()
            listening.bind(("127.0.0.1", 0))
            listening.listen()
            master_state = sys.argv[8].replace("FD", str(listening.fileno())).replace("CHILD", str(child.pid))
            config = hooks.hooks["when_ready"].__globals__
            server = config["SERVER"]
            workers = server.WORKERS
            (listener,) = server.LISTENERS
            note = config["note"]
            note("live", server.num_workers, sorted(workers), workers[child.pid].age, workers[child.pid].pid == child.pid, server.proc_name)
            note("listener", listener, listener.getsockname() == listening.getsockname(), listener.fileno() != listening.fileno())
            server.kill_worker(child.pid, signal.SIGTERM)
            note("killed", child.wait(10))
            server.kill_worker(child.pid, signal.SIGTERM)  # gone: no error, as in Gunicorn
            note("again")
            """;
        var state = PythonServerHooks.MasterStateJson(new HookMasterState(3,
            [new HookWorker(1_000_000_001, 1, true, 100), new HookWorker(1_000_000_002, 2, true, 100)],
            [new HookListener(1_000_000_003, "http://127.0.0.1:8000")], "app:app.2"))
            .Replace("1000000002", "CHILD", StringComparison.Ordinal).Replace("1000000003", "FD", StringComparison.Ordinal);
        await RunHooks(settings, PythonServerHooks.HookRefs(settings), [], script,
            JsonSerializer.Serialize(new[] { HookShapes.Server(new HookServer(100, 2, settings)) }), state);

        var lines = File.ReadAllLines(Path.Combine(_dir, "calls.txt"));
        Assert.Equal("ready 2 {} [] 12 app:app", lines[0]); // cfg.proc_name until the arbiter publishes its own
        Assert.Matches(@"^live 3 \[\d+, 1000000001\] 2 True app:app\.2$", lines[1]);
        Assert.Equal(["listener http://127.0.0.1:8000 True True", "killed -15", "again"], lines[2..]);
    }

    [Theory]
    [InlineData("def post_request(worker, req):\n    note('post2', req.method)\n", "post2 POST")]
    [InlineData("def post_request(worker, req, environ):\n    note('post3', environ)\n", "post3 None")]
    [InlineData("def post_request(worker, req, environ, resp):\n    note('post4', resp.status_code, resp.headers, resp.sent)\n", "post4 201 [('X-A', 'b')] 12")]
    public async Task Request_hooks_see_gunicorns_req_and_resp(string postRequest, string expected)
    {
        File.WriteAllText(Path.Combine(_dir, "gunicorn.conf.py"), $$"""
            import os
            OUT = os.path.join(os.path.dirname(__file__), "calls.txt")

            def note(*parts):
                with open(OUT, "a") as f:
                    f.write(" ".join(str(p) for p in parts) + "\n")

            def pre_request(worker, req):
                note("pre", worker.pid, req.method, req.uri, req.path, req.query, req.version, req.headers, req.peer_addr)

            {{postRequest}}
            """);
        var settings = SettingsResolver.Resolve(["app:app"], new Dictionary<string, string?>(), new ConfigScriptRunner(), _dir);
        var request = new Unicorn.Wsgi.Application.WsgiRequest
        {
            Method = "POST",
            RawUri = "/a%20b?x=1",
            Path = "/a%20b",
            Query = "x=1",
            Protocol = "HTTP/1.1",
            VersionMinor = 1,
            Headers = [new("Host", "h"), new("x-trace", "7")],
            Body = Unicorn.Wsgi.Application.RequestBody.Empty,
            ServerName = "h",
            ServerPort = "80",
            RemoteEndPoint = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 5555),
        };
        var worker = HookShapes.WorkerSnapshot(new HookWorker(300, 1, true, 1));
        var response = new { status = "201 Created", headers = new[] { new[] { "X-A", "b" } }, sent = 12 };
        var script = """
            for name, resp in (("pre_request", None), ("post_request", json.loads(sys.argv[9]))):
                hooks.call_request(name, sys.argv[7], sys.argv[8], json.dumps(resp), None)
            print(drain())
            """;
        await RunHooks(settings, PythonServerHooks.HookRefs(settings), [], script,
            JsonSerializer.Serialize(worker), JsonSerializer.Serialize(HookShapes.RequestSnapshot(request)), JsonSerializer.Serialize(response));
        Assert.Equal(
            ["pre 300 POST /a%20b?x=1 /a%20b x=1 (1, 1) [('HOST', 'h'), ('X-TRACE', '7')] ('127.0.0.1', 5555)", expected],
            File.ReadAllLines(Path.Combine(_dir, "calls.txt")));
    }

    [Fact]
    public async Task Worker_wsgi_and_app_callable_are_the_loaded_app_from_post_worker_init_on()
    {
        // The usual way public configs reach the Flask or Django app from a hook: worker.wsgi, worker.app.callable.
        File.WriteAllText(Path.Combine(_dir, "gunicorn.conf.py"), """
            import os

            def note(*parts):
                with open(os.path.join(os.path.dirname(__file__), "calls.txt"), "a") as f:
                    f.write(" ".join(str(p) for p in parts) + "\n")

            def post_fork(server, worker):
                note("post_fork", hasattr(worker, "wsgi"), worker.app.callable)

            def post_worker_init(worker):
                note("post_worker_init", worker.wsgi.__name__, worker.app.callable is worker.wsgi, worker.app.wsgi() is worker.wsgi)
            """);
        var settings = SettingsResolver.Resolve(["app:app"], new Dictionary<string, string?>(), new ConfigScriptRunner(), _dir);
        var worker = new[] { HookShapes.Server(new HookServer(100, 2, settings)), HookShapes.Worker(new HookWorker(200, 1, true, 100)) };
        var script = """
            hooks.call("post_fork", sys.argv[7])

            def application(environ, start_response):
                pass

            hooks.set_app(application)
            hooks.call("post_worker_init", json.dumps(json.loads(sys.argv[7])[1:]))
            """;
        await RunHooks(settings, PythonServerHooks.HookRefs(settings, worker: true), [], script, JsonSerializer.Serialize(worker));

        Assert.Equal(["post_fork False None", "post_worker_init application True True"], File.ReadAllLines(Path.Combine(_dir, "calls.txt")));
    }

    [Fact]
    public async Task A_workers_own_worker_and_a_requests_req_stay_the_same_objects_across_its_hooks()
    {
        // Gunicorn passes its one worker object to every hook of a worker, and the same req to pre_request and
        // post_request: recipes keep state on them (worker.start_time, req.start_time). pre_fork's worker has no pid yet.
        File.WriteAllText(Path.Combine(_dir, "gunicorn.conf.py"), """
            import os
            OUT = os.path.join(os.path.dirname(__file__), "calls.txt")

            def note(*parts):
                with open(OUT, "a") as f:
                    f.write(" ".join(str(p) for p in parts) + "\n")

            def pre_fork(server, worker):
                note("pre_fork", worker.pid)

            def post_worker_init(worker):
                worker.started = "warm"

            def pre_request(worker, req):
                worker.start_time = 1
                req.start_time = 2

            def post_request(worker, req, environ, resp):
                note("post", worker.started, worker.start_time, getattr(req, "start_time", None), worker.pid == os.getpid())
            """);
        var settings = SettingsResolver.Resolve(["app:app"], new Dictionary<string, string?>(), new ConfigScriptRunner(), _dir);
        var request = GetA();
        var preFork = new[] { HookShapes.Server(new HookServer(100, 2, settings)), HookShapes.Worker(new HookWorker(0, 1, true, 100)) };
        var script = """
            hooks.call("pre_fork", sys.argv[7])
            me = json.loads(sys.argv[8])
            me["pid"] = os.getpid()
            hooks.call("post_worker_init", json.dumps([{"worker": me}]))
            req = sys.argv[9]
            resp = json.dumps({"status": "200 OK", "headers": [], "sent": 2})
            hooks.call_request("pre_request", json.dumps(me), req, "null", None)
            hooks.call_request("post_request", json.dumps(me), req, resp, None)
            other = json.loads(req)
            other["uri"] = "/b"
            hooks.call_request("pre_request", json.dumps(me), req, "null", None)
            hooks.call_request("post_request", json.dumps(me), json.dumps(other), resp, None)
            """;
        await RunHooks(settings, PythonServerHooks.HookRefs(settings), [], script, JsonSerializer.Serialize(preFork),
            JsonSerializer.Serialize(HookShapes.WorkerSnapshot(new HookWorker(300, 1, true, 100))),
            JsonSerializer.Serialize(HookShapes.RequestSnapshot(request)));
        Assert.Equal(["pre_fork [booting]", "post warm 1 2 True", "post warm 1 None True"], File.ReadAllLines(Path.Combine(_dir, "calls.txt")));
    }

    [Fact]
    public async Task The_masters_worker_objects_carry_what_pre_fork_set_and_do_not_pile_up_under_churn()
    {
        File.WriteAllText(Path.Combine(_dir, "gunicorn.conf.py"), """
            def pre_fork(server, worker):
                worker._worker_id = worker.age * 10
                worker.lock = object()  # cannot cross to the worker process

            def child_exit(server, worker):
                pass
            """);
        var settings = SettingsResolver.Resolve(["app:app"], new Dictionary<string, string?>(), new ConfigScriptRunner(), _dir);
        var script = """
            server = {"server": {"pid": 100, "num_workers": 2}}
            carried = []
            for age in range(1, 201):
                # The master's state: the two newest workers run; the one before has just been reaped.
                running = [{"pid": 1000 + a, "ppid": 100, "age": a, "alive": True} for a in (age - 2, age - 1) if a > 0]
                master_state = json.dumps({"num_workers": 2, "workers": running, "listeners": []})
                carried.append(hooks.call("pre_fork", json.dumps([server, {"worker": {"pid": 0, "ppid": 100, "age": age, "alive": True}}])))
                if age > 2:
                    hooks.call("child_exit", json.dumps([server, {"worker": {"pid": 1000 + age - 3, "ppid": 100, "age": age - 3, "alive": False}}]))
            state = sys.modules["_unicorn_hook_state"]
            print(json.dumps({"first": carried[0], "last": carried[-1], "kept": len(state.workers),
                              "seen": state.server.WORKERS[1199]._worker_id}))
            """;
        var output = await RunHooks(settings, PythonServerHooks.HookRefs(settings), [], script);
        using var result = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        Assert.Equal("{\"_worker_id\": 10}", result.RootElement.GetProperty("first").GetString());
        Assert.Equal("{\"_worker_id\": 2000}", result.RootElement.GetProperty("last").GetString());
        Assert.InRange(result.RootElement.GetProperty("kept").GetInt32(), 2, 4);
        Assert.Equal(1990, result.RootElement.GetProperty("seen").GetInt32()); // WORKERS shows the object pre_fork saw
    }

    [Fact]
    public async Task Requests_that_interleave_on_one_thread_keep_their_own_req()
    {
        // The asgi worker's loop (and a greenlet worker's hub) runs many requests on one thread: each keeps its own req.
        File.WriteAllText(Path.Combine(_dir, "gunicorn.conf.py"), """
            import os

            def pre_request(worker, req):
                req.start_time = req.uri

            def post_request(worker, req, environ, resp):
                with open(os.path.join(os.path.dirname(__file__), "calls.txt"), "a") as f:
                    f.write("%s %s\n" % (req.uri, getattr(req, "start_time", None)))
            """);
        var settings = SettingsResolver.Resolve(["app:app"], new Dictionary<string, string?>(), new ConfigScriptRunner(), _dir);
        var request = GetA();
        var script = """
            import asyncio

            me = json.loads(sys.argv[7])
            me["pid"] = os.getpid()
            resp = json.dumps({"status": "200 OK", "headers": [], "sent": 2})

            async def serve(uri, first):
                req = json.loads(sys.argv[8])
                req["uri"] = uri
                hooks.call_request("pre_request", json.dumps(me), json.dumps(req), "null", None)
                await first.wait() if uri == "/a" else first.set()
                await asyncio.sleep(0)
                hooks.call_request("post_request", json.dumps(me), json.dumps(req), resp, None)

            async def main():
                first = asyncio.Event()
                await asyncio.gather(serve("/a", first), serve("/b", first))

            asyncio.run(main())
            """;
        await RunHooks(settings, PythonServerHooks.HookRefs(settings), [], script,
            JsonSerializer.Serialize(HookShapes.WorkerSnapshot(new HookWorker(300, 1, true, 100))),
            JsonSerializer.Serialize(HookShapes.RequestSnapshot(request)));
        Assert.Equal(["/b /b", "/a /a"], File.ReadAllLines(Path.Combine(_dir, "calls.txt")));
    }

    [Fact]
    public async Task Server_log_setup_from_on_starting_is_accepted()
    {
        // As some configs call it (Gunicorn's Logger.setup(cfg)); Unicorn's logs already follow the same settings.
        File.WriteAllText(Path.Combine(_dir, "gunicorn.conf.py"), "def on_starting(server):\n    server.log.setup(server.app.cfg)\n");
        var settings = SettingsResolver.Resolve(["app:app"], new Dictionary<string, string?>(), new ConfigScriptRunner(), _dir);
        var output = await RunHooks(settings, PythonServerHooks.HookRefs(settings), [["on_starting", new[] { HookShapes.Server(new HookServer(1, 2, settings)) }]]);
        Assert.Equal("""["on_starting", "ok", []]""", output.Trim());
    }

    // GET /a from 127.0.0.1:5555, as the request hooks' snapshot takes it.
    private static Unicorn.Wsgi.Application.WsgiRequest GetA() => new()
    {
        Method = "GET",
        RawUri = "/a",
        Path = "/a",
        Query = "",
        Protocol = "HTTP/1.1",
        VersionMinor = 1,
        Headers = [new("Host", "h")],
        Body = Unicorn.Wsgi.Application.RequestBody.Empty,
        ServerName = "h",
        ServerPort = "80",
        RemoteEndPoint = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 5555),
    };

    private const string CallEach = """
        for name, args in json.loads(sys.argv[6]):
            try:
                hooks.call(name, json.dumps(args))
                status = "ok"
            except Exception as e:
                status = "raised " + type(e).__name__
            print(json.dumps([name, status, json.loads(drain())]))
        """;

    private async Task<string> RunHooks(Settings settings, Dictionary<string, string?[]> refs, object[][] calls, string body = CallEach, params string[] extra)
    {
        var info = new ProcessStartInfo("/usr/bin/python3") { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(ConfigFileScript.Source + "\n" + HookScript.Source + """

            records = []
            master_state = None

            def drain():
                taken = json.dumps(records)
                del records[:]
                return taken

            hooks = _UnicornHooks(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5],
                                  lambda level, text, tb: records.append((level, text, tb)), lambda: master_state, "")

            """ + body);
        var location = settings.ConfigFile is { } f && !f.EndsWith(".toml", StringComparison.Ordinal) ? ConfigLocation.Parse(f, _dir) : null;
        info.ArgumentList.Add(PythonServerHooks.SettingsJson(settings));
        info.ArgumentList.Add(location?.Kind == ConfigLocationKind.PythonModule ? "module" : "file");
        info.ArgumentList.Add(location?.Target ?? "");
        info.ArgumentList.Add(_dir);
        info.ArgumentList.Add(JsonSerializer.Serialize(refs));
        info.ArgumentList.Add(JsonSerializer.Serialize(calls));
        foreach (var arg in extra)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(cts.Token);
        Assert.True(process.ExitCode == 0, await stderr);
        return await stdout;
    }
}
