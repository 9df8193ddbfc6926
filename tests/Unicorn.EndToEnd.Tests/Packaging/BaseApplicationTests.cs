using System.Globalization;
using Unicorn.EndToEnd.Tests.Core;
using Unicorn.EndToEnd.Tests.Arbiter;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Packaging;

/// <summary>
/// Gunicorn's "Custom Application" (a BaseApplication subclass that sets settings in load_config, returns
/// the app from load and calls run()) with only the import changed, run by a plain python3 from the source
/// checkout (packaging/python on PYTHONPATH, the repo's ./unicorn on PATH).
/// </summary>
public sealed class BaseApplicationTests : IDisposable
{
    /// <summary>Gunicorn's documented example, the import changed; the bind comes from argv for the test's port.</summary>
    public const string Standalone = """
        import multiprocessing
        import sys

        from unicorn_server.app.base import BaseApplication


        def number_of_workers():
            return (multiprocessing.cpu_count() * 2) + 1


        def handler_app(environ, start_response):
            start_response('200 OK', [('Content-Type', 'text/plain')])
            return [b'Works fine']


        class StandaloneApplication(BaseApplication):

            def __init__(self, app, options=None):
                self.options = options or {}
                self.application = app
                super().__init__()

            def load_config(self):
                config = {key: value for key, value in self.options.items()
                          if key in self.cfg.settings and value is not None}
                for key, value in config.items():
                    self.cfg.set(key.lower(), value)

            def load(self):
                return self.application


        if __name__ == '__main__':
            options = {
                'bind': sys.argv[1],
                'workers': number_of_workers(),
            }
            StandaloneApplication(handler_app, options).run()
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-baseapp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_documented_example_serves_with_only_the_import_changed()
    {
        var script = Write("standalone_app.py", Standalone);
        var port = FreePort();
        using var server = Run(script, $"127.0.0.1:{port}");
        server.WaitUntilServing(port);
        Assert.Equal((200, "Works fine"), Get(port, "/"));

        // run() execs the master: the script's process is the master, with number_of_workers() workers.
        server.WaitForLog($"[{server.Pid}] [INFO] Starting unicorn");
        var workers = int.Parse(WheelFixture.Run("/usr/bin/python3", _dir, "-c", "import multiprocessing; print(multiprocessing.cpu_count() * 2 + 1)").Trim(), CultureInfo.InvariantCulture);
        server.WaitForWorkers(workers, 120);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void A_hook_and_an_app_object_set_through_cfg_set_are_used()
    {
        var forks = Path.Combine(_dir, "forks");
        var script = Write("hooked_app.py", $$"""
            import os
            import sys

            from unicorn_server.app.base import BaseApplication


            class Greeter:
                def __call__(self, environ, start_response):
                    start_response('200 OK', [('Content-Type', 'text/plain')])
                    return [os.environ.get('GREETING', 'unset').encode()]


            application = Greeter()


            def post_fork(server, worker):
                with open({{Py(forks)}}, 'a') as f:
                    f.write('%d\n' % worker.pid)


            class HookedApplication(BaseApplication):
                def load_config(self):
                    self.cfg.set('bind', sys.argv[1])
                    self.cfg.set('workers', 2)
                    self.cfg.set('post_fork', post_fork)
                    self.cfg.set('raw_env', ['GREETING=hello from cfg.set'])

                def load(self):
                    return application


            if __name__ == '__main__':
                HookedApplication().run()
            """);
        var port = FreePort();
        using var server = Run(script, $"127.0.0.1:{port}");
        server.WaitUntilServing(port);
        server.WaitForWorkers(2, 120);
        Assert.Equal((200, "hello from cfg.set"), Get(port, "/"));
        Assert.True(Poll(() => File.Exists(forks) && File.ReadAllLines(forks).Length == 2, 60), server.Log);
        Assert.Equal(server.Workers().Order(), File.ReadAllLines(forks).Select(l => int.Parse(l, CultureInfo.InvariantCulture)).Order());
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void A_script_that_parses_its_arguments_at_module_level_gets_them_in_the_workers()
    {
        // The workers import the script: its module level runs there with the script's sys.argv, as in Gunicorn's
        // forked workers (they had unicorn.dll's, and a required option stopped every worker); from the settings, not
        // from the variable the script hands its master, which a unicorn the app ran would take for its own.
        var script = Write("cli_app.py", """
            import argparse
            import os
            import sys

            from unicorn_server.app.base import BaseApplication

            parser = argparse.ArgumentParser()
            parser.add_argument("--bind", required=True)
            parser.add_argument("--greeting", default="hello")
            ARGS = parser.parse_args()


            def app(environ, start_response):
                start_response("200 OK", [("Content-Type", "text/plain")])
                argv0 = sys.argv[0].rsplit("/", 1)[-1]
                return [("%s %s %s" % (ARGS.greeting, argv0, os.environ.get("UNICORN_SCRIPT_ARGV", "-"))).encode()]


            class CliApplication(BaseApplication):
                def load_config(self):
                    self.cfg.set("bind", ARGS.bind)
                    self.cfg.set("workers", 2)

                def load(self):
                    return app


            if __name__ == "__main__":
                CliApplication().run()
            """);
        var port = FreePort();
        using var server = Run(script, "--bind", $"127.0.0.1:{port}", "--greeting", "bonjour");
        server.WaitUntilServing(port);
        Assert.Equal((200, "bonjour cli_app.py -"), Get(port, "/"));
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    [Fact]
    public void An_app_no_module_holds_is_refused_in_one_line()
    {
        var script = Write("factory_app.py", """
            import sys

            from unicorn_server.app.base import BaseApplication


            def create_app():
                def app(environ, start_response):
                    start_response('200 OK', [])
                    return [b'']
                return app


            class FactoryApplication(BaseApplication):
                def load_config(self):
                    self.cfg.set('bind', sys.argv[1])

                def load(self):
                    return create_app()


            if __name__ == '__main__':
                FactoryApplication().run()
            """);
        using var server = Run(script, $"127.0.0.1:{FreePort()}");
        Assert.Equal(1, server.WaitForExit(60));
        var line = Assert.Single(server.Lines);
        Assert.StartsWith("unicorn: the app FactoryApplication.load() returned", line, StringComparison.Ordinal);
        Assert.Contains("not bound to a name at module level", line, StringComparison.Ordinal);
    }

    /// <summary>
    /// Gunicorn's example with the app made in the `__main__` block (Gunicorn serves the object itself): the name
    /// is module level in the running script but not when the workers import it, so it is refused in one line
    /// before the master starts, instead of every worker failing with "Failed to find attribute".
    /// </summary>
    [Fact]
    public void An_app_bound_only_under_the_main_guard_is_refused_in_one_line()
    {
        var script = Write("main_block_app.py", """
            import sys

            from unicorn_server.app.base import BaseApplication


            def create_app(greeting):
                def app(environ, start_response):
                    start_response('200 OK', [('Content-Type', 'text/plain')])
                    return [greeting]
                return app


            class StandaloneApplication(BaseApplication):
                def __init__(self, app, options=None):
                    self.options = options or {}
                    self.application = app
                    super().__init__()

                def load_config(self):
                    for key, value in self.options.items():
                        self.cfg.set(key.lower(), value)

                def load(self):
                    return self.application


            if __name__ == '__main__':
                application = create_app(b'Works fine')
                StandaloneApplication(application, {'bind': sys.argv[1], 'workers': 1}).run()
            """);
        using var server = Run(script, $"127.0.0.1:{FreePort()}");
        Assert.Equal(1, server.WaitForExit(60));
        var line = Assert.Single(server.Lines);
        Assert.Equal($"unicorn: the app StandaloneApplication.load() returned is bound to application only under "
            + $"`if __name__ == '__main__':` in {script}; Unicorn's master and workers import the script as a module, "
            + "where that block does not run, so bind it at module level", line);
    }

    /// <summary>
    /// The app imported from its own module under the main guard (`from myproj.wsgi import application`, as
    /// helfertool's gunicorn_main.py does): the script's name for it is gone when the workers import the script,
    /// but the module it came from holds it, so that module is served rather than the script refused.
    /// </summary>
    [Fact]
    public void An_app_imported_under_the_main_guard_is_served_from_its_module()
    {
        // An instance, as Django's get_wsgi_application() returns: found by the name a module binds to it.
        Write("guarded_wsgi.py", """
            class Handler:
                def __call__(self, environ, start_response):
                    start_response('200 OK', [('Content-Type', 'text/plain')])
                    return [b'from its module']


            application = Handler()
            """);
        var script = Write("guarded_import_app.py", """
            import sys

            from unicorn_server.app.base import BaseApplication


            class StandaloneApplication(BaseApplication):
                def __init__(self, app, options=None):
                    self.options = options or {}
                    self.application = app
                    super().__init__()

                def load_config(self):
                    for key, value in self.options.items():
                        self.cfg.set(key.lower(), value)

                def load(self):
                    return self.application


            if __name__ == '__main__':
                from guarded_wsgi import application

                StandaloneApplication(application, {'bind': sys.argv[1], 'workers': 1}).run()
            """);
        var port = FreePort();
        using var server = Run(script, $"127.0.0.1:{port}");
        server.WaitUntilServing(port);
        Assert.Equal((200, "from its module"), Get(port, "/"));
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    /// <summary>
    /// load() returning an import string, as hyperglass's HyperglassWSGI does ("hyperglass.api:app", which
    /// uvicorn's worker imports under Gunicorn): the master and the workers import that string.
    /// </summary>
    [Fact]
    public void An_import_string_load_returns_is_the_app_served()
    {
        Write("string_target.py", """
            def app(environ, start_response):
                start_response('200 OK', [('Content-Type', 'text/plain')])
                return [b'imported by name']
            """);
        var script = Write("string_app.py", """
            import sys

            from unicorn_server.app.base import BaseApplication


            class NamedApplication(BaseApplication):
                def __init__(self, app, options=None):
                    self.application = app
                    self.options = options or {}
                    super().__init__()

                def load_config(self):
                    for key, value in self.options.items():
                        self.cfg.set(key.lower(), value)

                def load(self):
                    return self.application


            if __name__ == '__main__':
                NamedApplication('string_target:app', {'bind': sys.argv[1], 'workers': 1}).run()
            """);
        var port = FreePort();
        using var server = Run(script, $"127.0.0.1:{port}");
        server.WaitUntilServing(port);
        Assert.Equal((200, "imported by name"), Get(port, "/"));
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    /// <summary>
    /// `gunicorn.SERVER = ...` in the script, the usual way to hide the Server header (here with Gunicorn installed
    /// beside, as while moving over): the master takes it as it takes it from a config file.
    /// </summary>
    [Fact]
    public void The_scripts_gunicorn_SERVER_is_the_Server_header()
    {
        var script = Write("hidden_server_app.py", Standalone
            .Replace("import sys\n", "import sys\n\nimport gunicorn\n\ngunicorn.SERVER = 'hidden'\n", StringComparison.Ordinal)
            .Replace("'workers': number_of_workers(),", "'workers': 1,", StringComparison.Ordinal));
        var port = FreePort();
        using var server = Run(script, $"127.0.0.1:{port}");
        server.WaitUntilServing(port);
        var response = RawHttp.Send(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.Contains("\r\nServer: hidden\r\n", response, StringComparison.Ordinal);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    /// <summary>
    /// cfg.set converts as Gunicorn 26.1's Config.set does (its validators), so what the script reads back is typed
    /// (the line printed is Gunicorn 26.1's for this script), and run() still hands the master what was set.
    /// </summary>
    [Fact]
    public void Settings_read_back_typed_as_in_gunicorn_and_still_reach_the_master()
    {
        var script = Write("typed_app.py", """
            import sys

            from unicorn_server.app.base import BaseApplication


            def app(environ, start_response):
                start_response('200 OK', [('Content-Type', 'text/plain')])
                return [b'typed']


            def post_fork(server, worker):
                pass


            class TypedApplication(BaseApplication):
                def load_config(self):
                    cfg = self.cfg
                    cfg.set('bind', sys.argv[1])
                    cfg.set('workers', '2')
                    cfg.set('threads', '3')
                    cfg.set('umask', '0o22')
                    cfg.set('preload_app', ' True ')
                    cfg.set('raw_env', ['A=1', 'B=x=y'])
                    cfg.set('forwarded_allow_ips', '127.0.0.1, 10.0.0.0/8')
                    cfg.set('post_fork', 'typed_app.post_fork')
                    cfg.set('statsd_host', 'localhost')
                    cfg.set('proxy_protocol', False)
                    print('typed:', cfg.workers * 2, cfg.bind[0] == sys.argv[1], cfg.address[0][0], cfg.umask,
                          cfg.preload_app, cfg.env, cfg.forwarded_allow_ips, cfg.post_fork.__name__, cfg.statsd_host,
                          cfg.proxy_protocol, cfg.worker_class_str, cfg.is_ssl, cfg.settings['threads'].value,
                          sorted(type(s.value).__name__ for n, s in cfg.settings.items() if n in ('workers', 'bind')))

                def load(self):
                    return app


            if __name__ == '__main__':
                TypedApplication().run()
            """);
        var port = FreePort();
        using var server = Run(script, $"127.0.0.1:{port}");
        server.WaitUntilServing(port);
        Assert.Equal(1, server.Count("typed: "));
        Assert.Equal("typed: 4 True 127.0.0.1 18 True {'A': '1', 'B': 'x=y'} ['127.0.0.1', '10.0.0.0/8'] post_fork "
            + "('localhost', 8125) off gthread None 3 ['int', 'list']", server.Lines.Single(l => l.StartsWith("typed: ", StringComparison.Ordinal)));
        // The master got the values as set: two workers from '2', the bind from the string.
        server.WaitForWorkers(2, 120);
        Assert.Equal((200, "typed"), Get(port, "/"));
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
    }

    /// <summary>A bad value stops load_config with Gunicorn 26.1's line and exit code, before any master starts.</summary>
    [Theory]
    [InlineData("'workers', 'abc'", "Error: invalid literal for int() with base 0: 'abc'")]
    [InlineData("'preload_app', 'yes'", "Error: Invalid boolean: yes")]
    [InlineData("'forwarded_allow_ips', '10.0.0.1/8'", "Error: 10.0.0.1/8 has host bits set")]
    [InlineData("'post_fork', 'os.nosuch'", "Error: Can not load 'nosuch' from 'os'")]
    [InlineData("'secure_scheme_headers', 'x'", "Error: Value is not a dictionary: x ")]
    public void A_bad_value_fails_in_load_config_as_in_gunicorn(string setArguments, string error)
    {
        var script = Write("bad_value_app.py", Standalone.Replace("'workers': number_of_workers(),", "'workers': 1,", StringComparison.Ordinal)
            .Replace("self.cfg.set(key.lower(), value)", "self.cfg.set(key.lower(), value)\n        self.cfg.set(" + setArguments + ")", StringComparison.Ordinal));
        using var server = Run(script, $"127.0.0.1:{FreePort()}");
        Assert.Equal(1, server.WaitForExit(60));
        Assert.Equal(["", error], server.Lines);
    }

    [Fact]
    public void An_unknown_setting_fails_as_in_gunicorn()
    {
        var script = Write("typo_app.py", Standalone.Replace("'workers': number_of_workers(),", "'workers': 1,", StringComparison.Ordinal)
            .Replace("self.cfg.set(key.lower(), value)", "self.cfg.set(key.lower(), value)\n        self.cfg.set('wrokers', 2)", StringComparison.Ordinal));
        using var server = Run(script, $"127.0.0.1:{FreePort()}");
        Assert.Equal(1, server.WaitForExit(60));
        Assert.Contains("Error: No configuration setting for: wrokers", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void A_script_that_calls_run_when_imported_is_told_to_guard_it()
    {
        // A worker imports the module: its argv is not the script's, so the bind is written in.
        var port = FreePort();
        var script = Write("unguarded_app.py", Standalone.Replace("if __name__ == '__main__':", "if True:", StringComparison.Ordinal)
            .Replace("'workers': number_of_workers(),", "'workers': 1,", StringComparison.Ordinal)
            .Replace("sys.argv[1]", $"'127.0.0.1:{port}'", StringComparison.Ordinal));
        using var server = Run(script);
        // The worker's import fails with the reason (and the master stops: the worker failed to boot),
        // rather than starting a second server from inside the first.
        Assert.NotEqual(0, server.WaitForExit(60));
        var line = server.Lines.First(l => l.Contains("when imported", StringComparison.Ordinal));
        Assert.Equal($"RuntimeError: {script} calls StandaloneApplication.run() when imported; Unicorn's master and workers "
            + "import it, so call run() under `if __name__ == '__main__':`", line);
        Assert.Equal(1, server.Count("Starting unicorn"));
    }

    private string Write(string name, string source)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, source);
        return path;
    }

    private UnicornServer Run(string script, params string[] args) =>
        StartProgram("/usr/bin/python3", _dir, new Dictionary<string, string?>
        {
            ["PATH"] = RepoRoot + ":" + Environment.GetEnvironmentVariable("PATH"),
            ["PYTHONPATH"] = Path.Combine(RepoRoot, "packaging", "python"),
            ["UNICORN_PYTHON"] = "/usr/bin/python3",
            ["GUNICORN_CMD_ARGS"] = null,
            ["WEB_CONCURRENCY"] = null,
        }, [script, .. args]);

    private static string Py(string text) => "'" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
}
