using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Workers.Hosts;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>The worker-class registry: every accepted spelling reaches a host, on the threads Gunicorn gives it.</summary>
public sealed class AppHostsTests
{
    private static readonly IErrorLog s_log = new StderrErrorLog(LogLevel.Debug, TextWriter.Null);

    [Fact]
    public void Every_worker_class_name_has_a_host_and_every_host_a_name()
    {
        Assert.Equal(WorkerClasses.Names.Order(StringComparer.Ordinal), AppHosts.Names.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("sync", 1, 1)]
    [InlineData("sync", 4, 4)] // Gunicorn: sync with more than one thread is gthread, in every spelling
    [InlineData("gunicorn.workers.sync.SyncWorker", 1, 1)]
    [InlineData("gunicorn.workers.sync.SyncWorker", 4, 4)]
    [InlineData("egg:gunicorn#sync", 3, 3)]
    [InlineData("gthread", 0, 1)]
    [InlineData("gthread", 1, 1)]
    [InlineData("gthread", 8, 8)]
    [InlineData("gunicorn.workers.gthread.ThreadWorker", 4, 4)]
    [InlineData("egg:gunicorn#gthread", 2, 2)]
    public void Every_spelling_runs_its_requests_on_the_threads_Gunicorn_gives_it(string workerClass, int threads, int expected)
    {
        var settings = TestSettings.Defaults();
        settings.Set("worker_class", workerClass);
        settings.Set("threads", threads);

        var host = AppHosts.Create(settings, new WsgiOnlyApp(new FakeApp(FakeApp.Ok)), s_log);

        Assert.Equal(expected, host.Capacity);
        Assert.Equal(expected > 1, AppHosts.For(settings).IsMultithread(settings));
    }

    [Theory]
    [InlineData("sync", 1, "sync")]
    [InlineData("sync", 4, "gthread")]
    [InlineData("gunicorn.workers.sync.SyncWorker", 2, "gthread")]
    [InlineData("gunicorn.workers.sync.SyncWorker", 1, "gunicorn.workers.sync.SyncWorker")]
    [InlineData("gthread", 4, "gthread")]
    public void The_using_worker_line_names_the_class_as_Gunicorn_does(string workerClass, int threads, string expected)
    {
        var settings = TestSettings.Defaults();
        settings.Set("worker_class", workerClass);
        settings.Set("threads", threads);

        Assert.Equal(expected, settings.WorkerClassDisplay);
    }

    [Fact]
    public void Every_accepted_spelling_has_a_host()
    {
        Assert.NotEmpty(WorkerClasses.Spellings);
        Assert.All(WorkerClasses.Spellings, name =>
        {
            var settings = TestSettings.Defaults();
            settings.Set("worker_class", name);
            Assert.True(WorkerClasses.IsSupported(name));
            Assert.NotNull(AppHosts.For(settings));
        });
    }

    [Theory]
    [InlineData("gevent", "gevent")]
    [InlineData("gevent_wsgi", "gevent")]
    [InlineData("gevent_pywsgi", "gevent")]
    [InlineData("gunicorn.workers.ggevent.GeventWorker", "gevent")]
    [InlineData("gunicorn.workers.ggevent.GeventPyWSGIWorker", "gevent")]
    [InlineData("egg:gunicorn#gevent", "gevent")]
    [InlineData("eventlet", "eventlet")]
    [InlineData("gunicorn.workers.geventlet.EventletWorker", "eventlet")]
    [InlineData("egg:gunicorn#eventlet", "eventlet")]
    public void Every_greenlet_spelling_runs_one_hub_with_worker_connections_requests(string workerClass, string normal)
    {
        var settings = TestSettings.Defaults();
        settings.Set("worker_class", workerClass);
        settings.Set("threads", 4);
        settings.Set("worker_connections", 321);

        var host = AppHosts.Create(settings, new GreenletOnlyApp(), s_log);

        Assert.Equal(normal, settings.EffectiveWorkerClass);
        Assert.True(WorkerClasses.IsGreenlet(workerClass));
        Assert.Equal(321, host.Capacity);
        Assert.False(AppHosts.For(settings).IsMultithread(settings)); // one Python thread, the hub's
    }

    [Theory]
    [InlineData("gaiohttp")]
    [InlineData("Sync")]
    [InlineData("uvicorn.workers.UvicornWebWorker")]
    public void A_class_validation_refuses_has_no_host(string workerClass)
    {
        var settings = TestSettings.Defaults();
        settings.Set("worker_class", workerClass);

        Assert.False(WorkerClasses.IsSupported(workerClass));
        Assert.Throws<InvalidOperationException>(() => AppHosts.For(settings));
    }

    [Theory]
    [InlineData("asgi")]
    [InlineData("gunicorn.workers.gasgi.ASGIWorker")]
    [InlineData("egg:gunicorn#asgi")]
    [InlineData("uvicorn.workers.UvicornWorker")]
    [InlineData("uvicorn.workers.UvicornH11Worker")]
    [InlineData("uvicorn_worker.UvicornWorker")]
    [InlineData("uvicorn_worker.UvicornH11Worker")]
    public void Every_asgi_spelling_starts_the_apps_event_loop_with_the_asgi_settings(string workerClass)
    {
        var settings = TestSettings.Defaults();
        settings.Set("worker_class", workerClass);
        settings.Set("worker_connections", 77);
        settings.Set("root_path", "/api");
        settings.Set("asgi_lifespan", "on");
        settings.Set("asgi_loop", "asyncio");
        settings.Set("asgi_disconnect_grace_period", 5);
        settings.Set("ws_max_size", 4096);
        settings.Set("ws_ping_interval", 7);
        settings.Set("ws_ping_timeout", 0);
        var app = new FakeAsgiApp();

        var host = AppHosts.Create(settings, app, s_log);

        Assert.Equal(77, host.Capacity);
        Assert.False(AppHosts.For(settings).IsMultithread(settings));
        Assert.Equal(new AsgiOptions
        {
            RootPath = "/api", Lifespan = "on", Loop = "asyncio", DisconnectGracePeriod = TimeSpan.FromSeconds(5),
            WsMaxSize = 4096, WsPingInterval = TimeSpan.FromSeconds(7), WsPingTimeout = TimeSpan.Zero,
        }, app.Options! with { ForwardedClient = null, ReportedStartupFailureStops = false });
        // uvicorn's spellings read X-Forwarded-For from forwarded_allow_ips for the client, and stop on the app's own
        // lifespan.startup.failed, as uvicorn does.
        var uvicorn = workerClass.StartsWith("uvicorn", StringComparison.Ordinal);
        Assert.Equal(uvicorn, app.Options.ReportedStartupFailureStops);
        Assert.Equal(uvicorn, app.Options.ForwardedClient is not null);
        Assert.Equal(uvicorn ? "203.0.113.7" : null, app.Options.ForwardedClient?.Invoke(System.Net.IPAddress.Loopback, "203.0.113.7, 127.0.0.1"));
        Assert.Null(app.Options.ForwardedClient?.Invoke(System.Net.IPAddress.Parse("192.0.2.1"), "203.0.113.7"));
    }

    [Theory]
    [InlineData("tornado")]
    [InlineData("gunicorn.workers.gtornado.TornadoWorker")]
    [InlineData("egg:gunicorn#tornado")]
    public void Every_tornado_spelling_runs_the_apps_tornado_form_on_a_plain_asyncio_loop(string workerClass)
    {
        var settings = TestSettings.Defaults();
        settings.Set("worker_class", workerClass);
        settings.Set("worker_connections", 55);
        settings.Set("asgi_loop", "uvloop"); // an asgi setting: tornado's IOLoop runs on asyncio's own loop regardless
        var app = new FakeAsgiApp();

        var host = AppHosts.Create(settings, app, s_log);

        Assert.Equal(WorkerClasses.Tornado, settings.EffectiveWorkerClass);
        Assert.Equal(55, host.Capacity);
        Assert.False(AppHosts.For(settings).IsMultithread(settings));
        Assert.Equal("asyncio", app.Options!.Loop);
    }

    [Fact]
    public void An_app_without_an_asgi_form_cannot_run_under_asgi()
    {
        var settings = TestSettings.Defaults();
        settings.Set("worker_class", "asgi");

        Assert.Throws<NotSupportedException>(() => AppHosts.Create(settings, new WsgiOnlyApp(new FakeApp(FakeApp.Ok)), s_log));
    }

    [Fact]
    public void The_asgi_host_reports_each_slow_task_with_its_own_stack()
    {
        var settings = TestSettings.Defaults();
        settings.Set("worker_class", "asgi");
        var app = new FakeAsgiApp();
        var started = Environment.TickCount64 - 5000;
        app.Running.Add(new AsgiRunningTask(7, "GET", "/slow?x=1", started, () => "Task Task-7, suspended"));
        app.Running.Add(new AsgiRunningTask(8, "POST", "/other", started, () => "Task Task-8, suspended"));
        var host = AppHosts.Create(settings, app, s_log);

        var slow = host.RunningLongerThan(TimeSpan.FromSeconds(1));

        // Two tasks on one thread, started in the same millisecond, are still two requests.
        Assert.Equal([7L, 8L], slow.Select(r => r.Id));
        Assert.Equal(TimeSpan.FromSeconds(1), app.AskedLimit);
        var first = slow[0];
        Assert.Equal(("GET", "/slow?x=1", started, "task"), (first.Method, first.Uri, first.StartedAt, first.ServedBy));
        Assert.True(first.Elapsed >= TimeSpan.FromSeconds(5));
        Assert.Equal("Task Task-7, suspended", first.Stack!());
    }

    private sealed class FakeAsgiApp : ILoadedApp, IAsgiApplication, IAsgiLoop
    {
        public AsgiOptions? Options { get; private set; }

        public List<AsgiRunningTask> Running { get; } = [];

        public TimeSpan? AskedLimit { get; private set; }

        public IReadOnlyList<AsgiRunningTask> RunningLongerThan(TimeSpan limit)
        {
            AskedLimit = limit;
            return Running;
        }

        public IWsgiApplication Wsgi => throw new NotSupportedException();

        public IAsgiApplication Asgi => this;

        public IGreenletApplication Greenlets => throw new NotSupportedException();

        public IAsgiLoop Start(AsgiOptions options)
        {
            Options = options;
            return this;
        }

        public Task RunAsync(WsgiRequest request, IResponseSink sink) => Task.CompletedTask;

        public Task<bool> StopAsync(TimeSpan timeout) => Task.FromResult(true);

        public bool IsResponsive(TimeSpan stuck) => true;
    }

    private sealed class GreenletOnlyApp : ILoadedApp
    {
        public IWsgiApplication Wsgi => throw new NotSupportedException();

        public IGreenletApplication Greenlets { get; } = new UnstartedHub();

        public IAsgiApplication Asgi => throw new NotSupportedException();
    }

    private sealed class UnstartedHub : IGreenletApplication
    {
        public void RunHub(IGreenletHub hub) => throw new NotSupportedException("these tests never start the host");
    }
}
