using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

public sealed class RefusalTests
{
    private static readonly Dictionary<string, string?> s_noEnv = [];

    private static ConfigException Refused(params string[] argv) =>
        Assert.Throws<ConfigException>(() => SettingsResolver.Resolve([.. argv, "app:app"], s_noEnv, null, "/tmp"));

    [Fact]
    public void Unsupported_setting_is_refused_by_name_and_flag()
    {
        Assert.StartsWith("unicorn: setting 'http_parser' (--http-parser) is not supported yet", Refused("--http-parser", "fast").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unsupported_setting_left_at_its_default_is_accepted()
    {
        var s = SettingsResolver.Resolve(["--http-parser", "auto", "--reload-engine", "auto", "app:app"], s_noEnv, null, "/tmp");
        Assert.Equal("auto", s.Get<string>("http_parser"));
    }

    [Theory]
    [InlineData("gaiohttp")]
    [InlineData("gunicorn.workers.gaiohttp.AiohttpWorker")]
    [InlineData("uvicorn.workers.UvicornWebWorker")]
    public void Other_worker_classes_are_refused_suggesting_gthread(string workerClass)
    {
        var e = Refused("-k", workerClass);
        Assert.Equal($"unicorn: worker class '{workerClass}' (-k/--worker-class) is not supported; use --worker-class gthread with --threads N, or gevent, instead", e.Message);
        Assert.Equal(1, e.ExitCode);
    }

    // aiohttp's documented Gunicorn deployment: its app is not WSGI, so gthread would be the wrong advice.
    [Theory]
    [InlineData("aiohttp.GunicornWebWorker")]
    [InlineData("aiohttp.GunicornUVLoopWebWorker")]
    [InlineData("aiohttp.worker.GunicornWebWorker")]
    [InlineData("aiohttp.worker.GunicornUVLoopWebWorker")]
    public void Aiohttp_worker_classes_are_refused_saying_the_app_is_not_wsgi_or_asgi(string workerClass)
    {
        var e = Refused("-k", workerClass);
        Assert.Equal($"unicorn: worker class '{workerClass}' (-k/--worker-class) is not supported: it serves an aiohttp.web.Application, " +
            "which is neither a WSGI nor an ASGI app; run it with aiohttp's own server (aiohttp.web.run_app), or port it to an ASGI " +
            "framework for --worker-class asgi", e.Message);
        Assert.Equal(1, e.ExitCode);
    }

    // Flask-SocketIO's documented Gunicorn deployment for websockets: suggesting gevent alone would leave every
    // client's upgrade failing in the app, so the line says what does work.
    [Fact]
    public void The_gevent_websocket_worker_is_refused_naming_polling_and_asgi()
    {
        const string workerClass = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker";
        var e = Refused("-k", workerClass);
        Assert.Equal($"unicorn: worker class '{workerClass}' (-k/--worker-class) is not supported: it hands the app the client socket " +
            "for websockets, which no Unicorn WSGI worker does; use --worker-class gevent (Socket.IO falls back to long-polling), " +
            "or serve websockets from an ASGI app (python-socketio's socketio.ASGIApp) with --worker-class asgi", e.Message);
        Assert.Equal(1, e.ExitCode);
    }

    [Theory]
    [InlineData("sync", 1, "sync")]
    [InlineData("sync", 4, "gthread")]
    [InlineData("gthread", 1, "gthread")]
    [InlineData("gunicorn.workers.gthread.ThreadWorker", 2, "gthread")]
    [InlineData("asgi", 1, "asgi")]
    [InlineData("uvicorn.workers.UvicornWorker", 1, "asgi")]
    [InlineData("uvicorn.workers.UvicornH11Worker", 1, "asgi")]
    [InlineData("uvicorn_worker.UvicornWorker", 1, "asgi")]
    [InlineData("uvicorn_worker.UvicornH11Worker", 1, "asgi")]
    [InlineData("gevent", 4, "gevent")]
    [InlineData("gevent_pywsgi", 1, "gevent")]
    [InlineData("gunicorn.workers.ggevent.GeventWorker", 1, "gevent")]
    [InlineData("egg:gunicorn#eventlet", 1, "eventlet")]
    public void Implemented_worker_classes_resolve(string workerClass, int threads, string effective)
    {
        var s = SettingsResolver.Resolve(["-k", workerClass, "--threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture), "app:app"], s_noEnv, null, "/tmp");
        Assert.Equal(effective, s.EffectiveWorkerClass);
    }

    [Fact]
    public void Every_setting_declares_whether_it_is_supported_and_unsupported_ones_have_a_non_default_way_in()
    {
        Assert.Contains(SettingsTable.All, s => !s.Supported);
        Assert.Equal(SettingsTable.All.Count, SettingsTable.ByName.Count);
        Assert.Equal(["boot_timeout", "max_request_time", "max_request_time_action", "max_worker_rss", "metrics_bind", "min_request_body_rate", "worker_heap_limit",
            "worker_spares", "worker_start", "ws_max_size", "ws_ping_interval", "ws_ping_timeout"], SettingsTable.All.Where(s => s.UnicornOnly).Select(s => s.Name).Order(StringComparer.Ordinal));
    }
}
