using Unicorn.Wsgi.Config;

namespace Unicorn.PythonBridge.Tests.ConfigFile;

public sealed class PythonConfigFileTests : IDisposable
{
    private static readonly Dictionary<string, string?> s_noEnv = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-pyconf-").FullName;
    private readonly ConfigScriptRunner _python = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private Settings Resolve(params string[] argv) => SettingsResolver.Resolve(argv, s_noEnv, _python, _dir);

    [Fact]
    public void Globals_naming_settings_are_applied_and_others_ignored()
    {
        Write("gunicorn.conf.py", """
            import multiprocessing
            bind = ["127.0.0.1:9200"]
            workers = multiprocessing.cpu_count() * 0 + 3
            timeout = "45"
            secure_scheme_headers = {"X-PROTO": "https"}
            raw_env = ("A=1", "B=2")
            helper = 17

            def when_ready(server):
                pass

            def post_request(worker, req):
                pass

            class MyLogger:
                pass
            """);
        var s = Resolve("app:app");
        Assert.Equal(["127.0.0.1:9200"], s.Bind);
        Assert.Equal(3, s.Workers);
        Assert.Equal(45, s.Timeout);
        Assert.Equal("https", s.Get<IReadOnlyDictionary<string, object?>>("secure_scheme_headers")["X-PROTO"]);
        Assert.Equal(["A=1", "B=2"], s.RawEnv);
        Assert.Equal(new HookReference(HookOrigin.ConfigFile, "when_ready"), s.Get<HookReference>("when_ready"));
        Assert.Equal(HookOrigin.ConfigFile, s.Get<HookReference>("post_request").Origin);
        Assert.False(s.Contains("helper"));
        Assert.Equal(Path.Combine(_dir, "gunicorn.conf.py"), s.ConfigFile);
    }

    [Fact]
    public void What_the_module_level_sets_in_os_environ_and_sys_path_travels_with_the_settings()
    {
        // The lines Gunicorn users put in gunicorn.conf.py for the workers, which inherit them from Gunicorn's master.
        Write("gunicorn.conf.py", """
            import os
            import sys
            os.environ.setdefault("UNICORN_TEST_SETTINGS_MODULE", "site.settings")
            os.environ["UNICORN_TEST_NAME"] = "caf\u00e9"
            sys.path.insert(0, "/srv/app/lib")
            sys.path.append("/srv/app/vendor")
            workers = 2
            """);
        var s = Settings.FromJson(Resolve("--pythonpath", "/opt/pp", "app:app").ToJson());
        Assert.Equal(
            new Dictionary<string, string> { ["UNICORN_TEST_SETTINGS_MODULE"] = "site.settings", ["UNICORN_TEST_NAME"] = "caf\u00e9" },
            s.ConfigFileEnvironment);
        Assert.Equal(["/opt/pp", "/srv/app/lib", "/srv/app/vendor"], s.PythonPathEntries);
        Assert.Equal(2, s.Workers);
    }

    [Fact]
    public void Hook_with_the_wrong_arity_is_refused()
    {
        Write("c.py", "def pre_fork(server):\n    pass\n");
        var e = Assert.Throws<ConfigException>(() => Resolve("-c", "c.py", "app:app"));
        Assert.Contains("invalid value for pre_fork", e.Message, StringComparison.Ordinal);
        Assert.Contains("arity of: 2 (got 1)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Class_objects_become_dotted_names()
    {
        Write("c.py", "class SyncWorker:\n    pass\nworker_class = SyncWorker\n");
        var e = Assert.Throws<ConfigException>(() => Resolve("-c", "c.py", "app:app"));
        Assert.Equal("unicorn: worker class '__config__.SyncWorker' (-k/--worker-class) is not supported; use --worker-class gthread with --threads N, or gevent, instead", e.Message);
    }

    [Fact]
    public void A_config_file_that_raises_is_one_line_with_file_and_line()
    {
        var path = Write("broken.py", "workers = 2\n\nraise RuntimeError('no database')\n");
        var e = Assert.Throws<ConfigException>(() => Resolve("-c", path, "app:app"));
        Assert.Equal($"unicorn: failed to read config file {path}, line 3: RuntimeError: no database", e.Message);
        Assert.Equal(1, e.ExitCode);
    }

    [Fact]
    public void A_syntax_error_names_its_line()
    {
        var path = Write("gunicorn.conf.py", "workers = 2\ntimeout = = 3\n");
        var e = Assert.Throws<ConfigException>(() => Resolve("app:app"));
        Assert.StartsWith($"unicorn: failed to read config file {path}, line 2: SyntaxError", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void An_error_in_an_imported_module_points_at_the_config_file_line()
    {
        Write("helpers.py", "def boom():\n    return 1 / 0\n");
        var path = Write("c.py", "import helpers\nx = 1\nworkers = helpers.boom()\n");
        var e = Assert.Throws<ConfigException>(() => Resolve("-c", path, "app:app"));
        Assert.Equal($"unicorn: failed to read config file {path}, line 3: ZeroDivisionError: division by zero", e.Message);
    }

    [Fact]
    public void Python_module_config()
    {
        Write("confpkg/__init__.py", "");
        Write("confpkg/settings.py", "workers = 5\nbind = '127.0.0.1:9300'\n");
        var s = Resolve("-c", "python:confpkg.settings", "app:app");
        Assert.Equal(5, s.Workers);
        Assert.Equal(["127.0.0.1:9300"], s.Bind);
        Assert.Equal("python:confpkg.settings", s.ConfigFile);
    }

    [Fact]
    public void A_python_module_config_that_does_not_exist_is_named_not_importlibs_frames()
    {
        Write("confpkg2/__init__.py", "");
        var e = Assert.Throws<ConfigException>(() => Resolve("-c", "python:confpkg2.nosuch", "app:app"));
        Assert.Equal("unicorn: failed to read config module python:confpkg2.nosuch: ModuleNotFoundError: No module named 'confpkg2.nosuch'", e.Message);
        Assert.Equal(1, e.ExitCode);

        // A module that exists but imports a missing one still points at its own line.
        var path = Write("confpkg2/bad.py", "workers = 2\nimport not_installed_anywhere\n");
        e = Assert.Throws<ConfigException>(() => Resolve("-c", "python:confpkg2.bad", "app:app"));
        Assert.Equal($"unicorn: failed to read config file {path}, line 2: ModuleNotFoundError: No module named 'not_installed_anywhere'", e.Message);
    }

    [Fact]
    public void File_without_py_extension_is_still_python()
    {
        Write("server.conf", "workers = 6\n");
        Assert.Equal(6, Resolve("-c", "file:server.conf", "app:app").Workers);
    }

    [Fact]
    public void Bad_value_in_a_config_file_names_setting_file_and_value()
    {
        var path = Write("c.py", "umask = 'abc'\n");
        var e = Assert.Throws<ConfigException>(() => Resolve("-c", path, "app:app"));
        Assert.Equal($"unicorn: invalid value for umask (-m/--umask) in {path}: 'abc': invalid literal for int() with base 0: 'abc'", e.Message);
    }
}
