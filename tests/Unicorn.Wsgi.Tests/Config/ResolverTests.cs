using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

public sealed class ResolverTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Dictionary<string, string?> Env(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => (string?)p.Value);

    private Settings Resolve(string[] argv, Dictionary<string, string?>? env = null, IConfigFileSource? python = null) =>
        SettingsResolver.Resolve(argv, env ?? Env(), python, _dir);

    [Fact]
    public void Defaults_match_gunicorn()
    {
        var s = Resolve(["app:app"]);
        Assert.Equal(["127.0.0.1:8000"], s.Bind);
        Assert.Equal(1, s.Workers);
        Assert.Equal("sync", s.WorkerClass);
        Assert.Equal(30, s.Timeout);
        Assert.Equal(2048, s.Backlog);
        Assert.Equal(_dir, s.Chdir);
        Assert.Equal("app:app", s.AppUri);
        Assert.Equal("app:app", s.ProcName);
        Assert.Equal(SettingSource.Default, s.SourceOf("workers"));
    }

    [Fact]
    public void Environment_defaults_are_read_at_resolve_time()
    {
        var s = Resolve(["app:app"], Env(("PORT", "9001"), ("WEB_CONCURRENCY", "5"), ("FORWARDED_ALLOW_IPS", "10.0.0.0/8"), ("SENDFILE", "no")));
        Assert.Equal(["0.0.0.0:9001"], s.Bind);
        Assert.Equal(5, s.Workers);
        Assert.Equal(["10.0.0.0/8"], s.ForwardedAllowIps.Entries);
        Assert.False(s.Sendfile);
        Assert.True(Resolve(["app:app"]).Sendfile);
        Assert.Null(Resolve(["app:app"]).Get<bool?>("sendfile"));
    }

    [Fact]
    public void Argv_beats_GUNICORN_CMD_ARGS_which_beats_defaults()
    {
        var s = Resolve(["-w", "3", "app:app"], Env(("GUNICORN_CMD_ARGS", "--workers 7 --timeout 9")));
        Assert.Equal(3, s.Workers);
        Assert.Equal(SettingSource.CommandLine, s.SourceOf("workers"));
        Assert.Equal(9, s.Timeout);
        Assert.Equal(SettingSource.Environment, s.SourceOf("timeout"));
    }

    [Fact]
    public void Unknown_flag_is_a_usage_error_with_exit_2()
    {
        var e = Assert.Throws<ConfigException>(() => Resolve(["--bogus", "app:app"]));
        Assert.Equal(2, e.ExitCode);
        Assert.Equal("usage: unicorn [OPTIONS] [APP_MODULE]\nunicorn: error: unrecognized arguments: --bogus", e.Message);
    }

    [Theory]
    [InlineData(new[] { "-w", "abc", "app:app" }, 2, "argument -w/--workers: invalid int value: 'abc'")]
    [InlineData(new[] { "--umask", "9z", "app:app" }, 2, "argument -m/--umask: invalid auto_int value: '9z'")]
    [InlineData(new[] { "--bind", "::::", "app:app" }, 1, "invalid value for bind (-b/--bind): '::::'")]
    [InlineData(new[] { "-w", "-1", "app:app" }, 1, "Value must be positive: -1")]
    public void Invalid_values_name_the_setting(string[] argv, int exitCode, string fragment)
    {
        var e = Assert.Throws<ConfigException>(() => Resolve(argv));
        Assert.Equal(exitCode, e.ExitCode);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message.Split('\n', 2).Last());
    }

    [Fact]
    public void Zero_workers_is_a_one_line_config_error()
    {
        var e = Assert.Throws<ConfigException>(() => Resolve(["-w", "0", "app:app"]));
        Assert.Equal(1, e.ExitCode);
        Assert.Equal("unicorn: invalid value for workers (-w/--workers): 0: Value must be at least 1: 0", e.Message);
    }

    [Fact]
    public void A_bad_environment_default_names_the_variable()
    {
        var e = Assert.Throws<ConfigException>(() => Resolve(["app:app"], Env(("WEB_CONCURRENCY", "lots"))));
        Assert.Equal("unicorn: invalid value for workers (-w/--workers) (from $WEB_CONCURRENCY): 'lots': invalid literal for int() with base 0: 'lots'", e.Message);
        e = Assert.Throws<ConfigException>(() => Resolve(["app:app"], Env(("PORT", "http"))));
        Assert.StartsWith("unicorn: invalid value for bind (-b/--bind) (from $PORT): '0.0.0.0:http'", e.Message, StringComparison.Ordinal);
        // Overridden, the bad default does not matter.
        Assert.Equal(["127.0.0.1:1"], Resolve(["-b", "127.0.0.1:1", "app:app"], Env(("PORT", "http"))).Bind);
        Assert.Equal(2, Resolve(["app:app"], Env(("WEB_CONCURRENCY", "lots"), ("GUNICORN_CMD_ARGS", "-w 2"))).Workers);
    }
}
