using Unicorn.Wsgi.Config;

namespace Unicorn.PythonBridge.Tests.ConfigFile;

/// <summary>
/// uvicorn's documented way to configure its Gunicorn worker, a subclass setting CONFIG_KWARGS, read from the module's
/// source (neither uvicorn nor Gunicorn is imported, unless a value is computed when the module runs) and turned into
/// the settings that do the same.
/// </summary>
public sealed class UvicornSubclassTests : IDisposable
{
    private static readonly Dictionary<string, string?> s_noEnv = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-uvsub-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Settings Resolve(params string[] argv) => SettingsResolver.Resolve(argv, s_noEnv, new ConfigScriptRunner(), _dir);

    private void Workers(string source) => File.WriteAllText(Path.Combine(_dir, "workers.py"), "from uvicorn.workers import UvicornWorker\n\n" + source);

    [Fact]
    public void The_subclass_from_uvicorns_docs_runs_as_uvicorns_worker_with_its_settings()
    {
        Workers("""
            class MyUvicornWorker(UvicornWorker):
                CONFIG_KWARGS = {"loop": "asyncio", "http": "h11", "lifespan": "off"}
            """);

        var s = Resolve("-k", "workers.MyUvicornWorker", "main:app");

        Assert.Equal("uvicorn.workers.UvicornWorker", s.WorkerClass);
        Assert.Equal(WorkerClasses.Asgi, s.EffectiveWorkerClass);
        Assert.Equal("workers.MyUvicornWorker", s.WorkerClassDisplay);
        Assert.Equal("asyncio", s.AsgiLoop);
        Assert.Equal("off", s.AsgiLifespan);
    }

    [Fact]
    public void A_base_imported_under_another_name_is_still_uvicorns_worker()
    {
        // Saleor's saleor/asgi/gunicorn_worker.py as shipped (its docs and Procfile run
        // `--worker-class saleor.asgi.gunicorn_worker.UvicornWorker`); it was refused as "not supported".
        File.WriteAllText(Path.Combine(_dir, "saleor_worker.py"), """
            from uvicorn.workers import UvicornWorker as BaseUvicornWorker


            class UvicornWorker(BaseUvicornWorker):
                # Override default config args, that cannot be passed as gunicorn parameters.
                CONFIG_KWARGS = {
                    "loop": "uvloop",
                    "http": "httptools",
                    "lifespan": "off",
                    "ws": "none",
                }
            """);

        var s = Resolve("-k", "saleor_worker.UvicornWorker", "main:app");

        Assert.Equal("uvicorn.workers.UvicornWorker", s.WorkerClass);
        Assert.Equal(WorkerClasses.Asgi, s.EffectiveWorkerClass);
        Assert.Equal("uvloop", s.AsgiLoop);
        Assert.Equal("off", s.AsgiLifespan);
    }

    [Fact]
    public void A_subclass_of_the_uvicorn_worker_packages_class_runs_as_uvicorns_worker()
    {
        File.WriteAllText(Path.Combine(_dir, "pkgworker.py"), """
            from uvicorn_worker import UvicornH11Worker as H11


            class Quiet(H11):
                CONFIG_KWARGS = {"lifespan": "off"}
            """);

        var s = Resolve("-k", "pkgworker.Quiet", "main:app");

        Assert.Equal("uvicorn.workers.UvicornH11Worker", s.WorkerClass);
        Assert.Equal("off", s.AsgiLifespan);
    }

    [Fact]
    public void Its_settings_win_over_the_command_lines_as_uvicorns_worker_applies_them_last()
    {
        Workers("""
            class Tuned(UvicornWorker):
                "Behind nginx, under /api."
                CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "root_path": "/api", "timeout_keep_alive": 15,
                                 "limit_max_requests": 500, "ws_max_size": 4096, "access_log": False}
            """);

        var s = Resolve("-k", "workers.Tuned", "--keep-alive", "2", "--access-logfile", "-", "main:app");

        Assert.Equal("/api", s.RootPath);
        Assert.Equal(15, s.Get<int>("keepalive"));
        Assert.Equal(500, s.MaxRequests);
        Assert.Equal(4096, s.WsMaxSize);
        Assert.Null(s.Get<string?>("accesslog"));
    }

    [Fact]
    public void Factory_true_calls_the_app_named_to_make_it()
    {
        // s3rius/FastAPI-template's worker: uvicorn calls get_app() in each worker, as "module:get_app()" asks here.
        Workers("""
            class W(UvicornWorker):
                CONFIG_KWARGS = {"loop": "asyncio", "factory": True, "lifespan": "on"}
            """);

        Assert.Equal("proj.web.application:get_app()", Resolve("-k", "workers.W", "proj.web.application:get_app").AppUri);
        Assert.Equal("proj.app:make(debug=True)", Resolve("-k", "workers.W", "proj.app:make(debug=True)").AppUri);
    }

    [Fact]
    public void Proxy_headers_off_trusts_no_forwarder()
    {
        Workers("""
            class Direct(UvicornWorker):
                CONFIG_KWARGS = dict(proxy_headers=False)
            """);

        var s = Resolve("-k", "workers.Direct", "--forwarded-allow-ips", "*", "main:app");

        Assert.Empty(s.ForwardedAllowIps.Entries);
        Assert.False(s.ForwardedAllowIps.AllowsAll);
    }

    [Theory]
    [InlineData("class W(UvicornWorker):\n    CONFIG_KWARGS = {\"server_header\": False}\n", "CONFIG_KWARGS['server_header'] has no equivalent in Unicorn")]
    [InlineData("class W(UvicornWorker):\n    CONFIG_KWARGS = {\"http\": \"h2\"}\n", "CONFIG_KWARGS['http'] takes one of auto, h11, httptools")]
    [InlineData("class W(UvicornWorker):\n    def init_process(self):\n        pass\n", "defines init_process; Unicorn runs a uvicorn worker subclass that sets only CONFIG_KWARGS")]
    // A computed value whose module cannot be imported (here `settings` is undefined). The line said
    // "malformed node or string on line 5: <ast.BoolOp object at 0x7f...>".
    [InlineData("class W(UvicornWorker):\n    CONFIG_KWARGS = {\n        \"root_path\": settings.FORCE_SCRIPT_NAME or \"\",\n    }\n",
        "CONFIG_KWARGS['root_path'] is computed when the module runs (line 5: settings.FORCE_SCRIPT_NAME or ''), and importing it failed: NameError: name 'settings' is not defined")]
    public void What_it_cannot_run_is_refused_in_one_line_naming_the_class(string source, string why)
    {
        Workers(source);

        var e = Assert.Throws<ConfigException>(() => Resolve("-k", "workers.W", "main:app"));

        Assert.StartsWith("unicorn: worker class 'workers.W' (-k/--worker-class): ", e.Message, StringComparison.Ordinal);
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_computed_value_is_read_from_the_imported_class_as_gunicorns_master_imports_it()
    {
        // paperless-ngx's src/paperless/workers.py, with Django's settings object standing in for django.conf's.
        Workers("""
            import os
            import types

            settings = types.SimpleNamespace(FORCE_SCRIPT_NAME=os.environ.get("NO_SUCH_VARIABLE_HERE"))


            class ConfigurableWorker(UvicornWorker):
                CONFIG_KWARGS = {
                    "root_path": settings.FORCE_SCRIPT_NAME or "/paperless",
                }
            """);

        var s = Resolve("-k", "workers.ConfigurableWorker", "main:app");

        Assert.Equal(WorkerClasses.Asgi, s.EffectiveWorkerClass);
        Assert.Equal("/paperless", s.RootPath);
    }

    [Fact]
    public void A_bare_annotation_defines_nothing_and_is_no_reason_to_refuse()
    {
        // goauthentik/authentik lifecycle/worker.py, as shipped: `_worker_id: int` was refused as "defines annassign".
        Workers(""""
            class DjangoUvicornWorker(UvicornWorker):
                """Custom configured Uvicorn Worker without lifespan"""

                CONFIG_KWARGS = {
                    "loop": "asyncio",
                    "http": "h11",
                    "lifespan": "off",
                    "ws": "wsproto",
                }

                _worker_id: int
            """");

        var s = Resolve("-k", "workers.DjangoUvicornWorker", "main:app");

        Assert.Equal(WorkerClasses.Asgi, s.EffectiveWorkerClass);
        Assert.Equal("off", s.AsgiLifespan);
    }

    [Theory]
    [InlineData("workers.NotThere")]
    [InlineData("workers.Plain")]
    [InlineData("nosuchmodule.Worker")]
    public void Any_other_class_is_still_refused_as_unsupported(string name)
    {
        Workers("class Plain:\n    CONFIG_KWARGS = {}\n");

        var e = Assert.Throws<ConfigException>(() => Resolve("-k", name, "main:app"));

        Assert.Contains($"worker class '{name}' (-k/--worker-class) is not supported", e.Message, StringComparison.Ordinal);
    }
}
