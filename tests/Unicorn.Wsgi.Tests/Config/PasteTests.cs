using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

public sealed class PasteTests : IDisposable
{
    private static readonly Dictionary<string, string?> s_noEnv = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-paste-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private Settings Resolve(string[] argv, IConfigFileSource? python = null) => SettingsResolver.Resolve(argv, s_noEnv, python, _dir);

    private const string Ini = """
        [app:main]
        use = call:demo:factory

        [server:main]
        use = egg:gunicorn#main
        host = 127.0.0.1
        port = 6543
        workers = 3
        timeout = 17
        pidfile = %(here)s/demo.pid

        [loggers]
        keys = root
        """;

    [Fact]
    public void Server_main_supplies_bind_and_settings()
    {
        var ini = Write("demo.ini", Ini);
        var s = Resolve(["--paste", "demo.ini"]);
        Assert.Equal(["127.0.0.1:6543"], s.Bind);
        Assert.Equal(3, s.Workers);
        Assert.Equal(17, s.Timeout);
        Assert.Equal(Path.Combine(_dir, "demo.pid"), s.Pidfile);
        Assert.Equal(SettingSource.Framework, s.SourceOf("workers"));
        Assert.Equal(ini, s.PasteUri);
        Assert.Equal(ini, s.ProcName);
        Assert.Null(s.AppUri);
    }

    [Fact]
    public void An_ini_with_loggers_is_the_log_config_below_the_config_file_and_command_line()
    {
        // As Gunicorn's --paste: the ini's [loggers] configure every process's logging, the server's own lines included.
        var ini = Write("demo.ini", Ini);
        var s = Resolve(["--paste", "demo.ini#main"]);
        Assert.Equal(ini, s.Get<string?>("logconfig"));
        Assert.Equal(SettingSource.Framework, s.SourceOf("logconfig"));

        var other = Write("other.ini", "[loggers]\nkeys = root\n");
        Assert.Equal(other, Resolve(["--paste", "demo.ini", "--log-config", other]).Get<string?>("logconfig"));

        Write("nologs.ini", "[app:main]\nuse = call:demo:factory\n");
        Assert.Null(Resolve(["--paste", "nologs.ini"]).Get<string?>("logconfig"));
    }

    [Fact]
    public void Config_file_and_command_line_beat_the_ini()
    {
        Write("demo.ini", Ini);
        var conf = Write("c.py", "");
        var s = Resolve(["--paster", "demo.ini#main", "-c", conf, "-t", "5"], new FakeConfigFile(("workers", 9L), ("timeout", 8L)));
        Assert.Equal(9, s.Workers);
        Assert.Equal(5, s.Timeout);
        Assert.Equal(["127.0.0.1:6543"], s.Bind);
        Assert.Equal(Path.Combine(_dir, "demo.ini") + "#main", s.PasteUri);
    }

    [Fact]
    public void Another_server_section_is_left_alone_and_host_alone_may_list_addresses()
    {
        Write("waitress.ini", "[app:main]\nuse = egg:x\n[server:main]\nuse = egg:waitress#main\nport = 1\n");
        Assert.Equal(["127.0.0.1:8000"], Resolve(["--paste", "waitress.ini"]).Bind);
        Write("hosts.ini", "[server:main]\nuse = egg:unicorn#main\nhost = 127.0.0.1:1, unix:/tmp/a.sock\n");
        Assert.Equal(["127.0.0.1:1", "unix:/tmp/a.sock"], Resolve(["--paste", "hosts.ini"]).Bind);
    }

    [Fact]
    public void Unknown_keys_are_skipped_with_a_warning_and_a_missing_file_is_an_error()
    {
        // RhodeCode's rhodecode.ini keeps memory_max_usage there for its own gunicorn_conf.py.
        Write("rc.ini", "[server:main]\nuse = egg:gunicorn#main\nmemory_max_usage = 0\nworkers = 2\n");
        var s = Resolve(["--paste", "rc.ini"]);
        Assert.Equal(2, s.Workers);
        Assert.Equal([$"Unknown setting 'memory_max_usage' in [server:main] of {Path.Combine(_dir, "rc.ini")} ignored"], s.Warnings);
        Assert.Equal($"unicorn: error: '{Path.Combine(_dir, "none.ini")}' not found",
            Assert.Throws<ConfigException>(() => Resolve(["--paste", "none.ini"])).Message);
    }

    [Fact]
    public void Paste_global_values_split_on_the_first_unescaped_equals()
    {
        Write("demo.ini", "[app:main]\nuse = egg:x\n");
        var s = Resolve(["--paste", "demo.ini", "--paste-global", "a=1", "--paste-global", "b\\=c=d=e"]);
        Assert.Equal("1", s.PasteGlobalConf["a"]);
        Assert.Equal("d=e", s.PasteGlobalConf["b=c"]);
        Assert.Throws<ConfigException>(() => Resolve(["--paste", "demo.ini", "--paste-global", "novalue"]));
    }

    [Fact]
    public void Ini_parsing_follows_configparser()
    {
        var path = Write("x.ini", """
            # comment
            [DEFAULT]
            base = /srv

            [s]
            ; another comment
            Key = value
            multi =
                one
                two
            colon: yes
            path = %(base)s/%(key)s %%
            """);
        var ini = IniFile.Read(path);
        Assert.Equal("value", ini.Get("s", "key"));
        Assert.Equal("one\ntwo", ini.Get("s", "multi"));
        Assert.Equal("yes", ini.Get("s", "colon"));
        Assert.Equal("/srv/value %", ini.Get("s", "path"));
        Assert.Equal(_dir, ini.Get("s", "here"));
        Assert.Equal(["key", "multi", "colon", "path"], ini.Keys("s"));
    }
}
