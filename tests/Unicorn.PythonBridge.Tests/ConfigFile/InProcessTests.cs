using Python.Runtime;
using Unicorn.PythonBridge.ConfigFile;
using Unicorn.PythonBridge.Tests.Support;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge.Tests.ConfigFile;

/// <summary>The config-file executor, hooks and paste loader inside this process's embedded interpreter.</summary>
[Collection(PythonCollection.Name)]
public sealed class InProcessTests(PythonFixture python) : IDisposable
{
    private static readonly Dictionary<string, string?> s_noEnv = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-inproc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Config_file_runs_in_the_embedded_interpreter()
    {
        var path = Write("inproc.conf.py", "import os\nworkers = 4\nbind = ['127.0.0.1:9400']\ndef when_ready(server):\n    pass\n");
        var s = SettingsResolver.Resolve(["-c", path, "app:app"], s_noEnv, new PythonConfigFileSource(), _dir);
        Assert.Equal(4, s.Workers);
        Assert.Equal(["127.0.0.1:9400"], s.Bind);
        Assert.Equal(HookOrigin.ConfigFile, s.Get<HookReference>("when_ready").Origin);
    }

    [Fact]
    public void Config_file_that_raises_is_one_line()
    {
        var path = Write("raises.conf.py", "x = 1\nraise KeyError('db')\n");
        var e = Assert.Throws<ConfigException>(() => SettingsResolver.Resolve(["-c", path, "app:app"], s_noEnv, new PythonConfigFileSource(), _dir));
        Assert.Equal($"unicorn: failed to read config file {path}, line 2: KeyError: 'db'", e.Message);
    }

    [Fact]
    public void Hooks_run_log_and_report_failures()
    {
        var calls = Path.Combine(_dir, "calls.txt");
        var path = Write("hooks.conf.py", $$"""
            def on_starting(server):
                with open({{PythonRepr(calls)}}, "a") as f:
                    f.write("on_starting %s %s %s\n" % (server.pid, server.num_workers, server.cfg.workers))
                server.log.info("starting %d", server.pid)

            def pre_request(worker, req):
                with open({{PythonRepr(calls)}}, "a") as f:
                    f.write("pre_request %s %s\n" % (req.method, req.path))

            def on_exit(server):
                raise ValueError("bye")
            """);
        var settings = SettingsResolver.Resolve(["-c", path, "-w", "3", "app:app"], s_noEnv, new PythonConfigFileSource(), _dir);
        using var hooks = PythonServerHooks.Load(settings, python.Log, _dir);
        Assert.True(hooks.IsDefined("on_starting"));
        Assert.False(hooks.IsDefined("when_ready"));
        Assert.True(hooks.HasRequestHooks);

        var logged = python.Log.During(() => hooks.OnStarting(new HookServer(42, 3, settings)));
        Assert.Contains((LogLevel.Info, "starting 42"), logged);
        hooks.WhenReady(new HookServer(42, 3, settings));
        hooks.PreRequest(new HookWorker(43, 1, true, 42), AppThread.Request());
        Assert.Equal(["on_starting 42 3 3", "pre_request GET /"], File.ReadAllLines(calls));

        HookFailedException? failure = null;
        logged = python.Log.During(() => failure = Assert.Throws<HookFailedException>(() => hooks.OnExit(new HookServer(42, 3, settings))));
        Assert.Equal("on_exit", failure!.Hook);
        Assert.Contains(logged, l => l.Level == LogLevel.Error && l.Message.StartsWith("Exception in on_exit hook\n", StringComparison.Ordinal)
            && l.Message.Contains("ValueError: bye", StringComparison.Ordinal));
    }

    /// <summary>
    /// As Gunicorn: pre_request gets the parsed request, post_request the environ dict the app saw (not None) and
    /// the response, so the common logging hook <c>environ["PATH_INFO"]</c> works.
    /// </summary>
    [Fact]
    public void Request_hooks_get_gunicorns_req_and_the_apps_environ()
    {
        var calls = Path.Combine(_dir, "request-calls.txt");
        Write("inproc_marking_app.py", """
            def app(environ, start_response):
                environ["app.mark"] = "seen"
                start_response("201 Created", [("Content-Type", "text/plain")])
                return [b"made"]
            """);
        var path = Write("request-hooks.conf.py", $$"""
            def pre_request(worker, req):
                with open({{PythonRepr(calls)}}, "a") as f:
                    f.write("pre %s %s %s %s %s %s %s\n" % (req.method, req.uri, req.path, req.query, req.version, req.scheme, req.headers))

            def post_request(worker, req, environ, resp):
                with open({{PythonRepr(calls)}}, "a") as f:
                    f.write("post %s %s %s %s %s\n" % (environ["PATH_INFO"], environ["REQUEST_METHOD"], environ["app.mark"], resp.status, resp.sent))
            """);
        AddToSysPath(_dir);
        var settings = SettingsResolver.Resolve(["-c", path, "inproc_marking_app:app"], s_noEnv, new PythonConfigFileSource(), _dir);
        using var hooks = PythonServerHooks.Load(settings, python.Log, _dir);
        var app = new HookedApplication(PythonWsgiApplication.Load(python.Runtime, "inproc_marking_app:app", new WsgiAppOptions(), python.Log), hooks, spew: false, () => new HookWorker(43, 1, true, 42));
        using var thread = new AppThread(app);
        var logged = python.Log.During(() =>
        {
            Assert.Equal("made", thread.Invoke(AppThread.Request("POST", "/a%20b/c", "x=1", [new("Host", "h"), new("X-Test", "v")])).BodyText);
            Assert.Equal("made", thread.Invoke(AppThread.Request("HEAD", "/h")).BodyText);
        });
        Assert.DoesNotContain(logged, l => l.Level >= LogLevel.Error);
        Assert.Equal(
        [
            "pre POST /a%20b/c?x=1 /a%20b/c x=1 (1, 1) http [('HOST', 'h'), ('X-TEST', 'v')]",
            "post /a b/c POST seen 201 Created 4",
            "pre HEAD /h /h  (1, 1) http [('HOST', 'example.test:8080')]",
            "post /h HEAD seen 201 Created 4",
        ], File.ReadAllLines(calls));
    }

    [Fact]
    public void Paste_application_is_loaded_and_served()
    {
        Write("inproc_pasteapp.py", """
            def factory(global_conf, **local):
                def app(environ, start_response):
                    start_response("200 OK", [("Content-Type", "text/plain")])
                    return [(local["word"] + global_conf["who"]).encode()]
                return app
            """);
        Write("inproc.ini", "[app:main]\nuse = call:inproc_pasteapp:factory\nword = hello-\n");
        AddToSysPath(_dir);
        var settings = SettingsResolver.Resolve(["--paste", "inproc.ini", "--paste-global", "who=paste"], s_noEnv, null, _dir);
        using var app = PasteDeployLoader.Load(settings.PasteUri!, settings.PasteGlobalConf, _dir);
        using var thread = new AppThread(new PythonWsgiApplication(python.Runtime, app, new WsgiAppOptions(), python.Log));
        Assert.Equal("hello-paste", thread.Invoke(AppThread.Request()).BodyText);

        Write("broken.ini", "[app:main]\nuse = call:no_such_module_xyz:factory\n");
        var e = Assert.Throws<AppImportException>(() => PasteDeployLoader.Load(Path.Combine(_dir, "broken.ini"), new Dictionary<string, string>(), _dir).Dispose());
        Assert.StartsWith($"cannot load the application from {Path.Combine(_dir, "broken.ini")}: ModuleNotFoundError", e.Message, StringComparison.Ordinal);
    }

    private void AddToSysPath(string dir) => python.Runtime.RunWithGil(() =>
    {
        using var sys = Py.Import("sys");
        using var path = sys.GetAttr("path");
        using var entry = new PyString(dir);
        path.InvokeMethod("insert", new PyInt(0), entry).Dispose();
    });

    private static string PythonRepr(string s) => "'" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
}
