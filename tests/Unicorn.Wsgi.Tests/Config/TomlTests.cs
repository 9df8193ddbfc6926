using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

public sealed class TomlTests : IDisposable
{
    private static readonly Dictionary<string, string?> s_noEnv = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-toml-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Write(string name, string text) => File.WriteAllText(Path.Combine(_dir, name), text);

    [Fact]
    public void Unicorn_toml_given_with_c()
    {
        Write("unicorn.toml", """
            bind = ["127.0.0.1:9100", "unix:/tmp/x.sock"]
            workers = 3
            preload_app = true
            umask = 0o22
            wsgi_app = "pkg:app"
            when_ready = "pkg.hooks.when_ready"
            unrelated = "ignored"

            [secure_scheme_headers]
            X-FORWARDED-PROTO = "https"
            """);
        var s = SettingsResolver.Resolve(["-c", "unicorn.toml"], s_noEnv, null, _dir);
        Assert.Equal(["127.0.0.1:9100", "unix:/tmp/x.sock"], s.Bind);
        Assert.Equal(3, s.Workers);
        Assert.True(s.PreloadApp);
        Assert.Equal(18, s.Umask);
        Assert.Equal("pkg:app", s.AppUri);
        Assert.Equal("pkg.hooks.when_ready", s.Get<HookReference>("when_ready").DottedPath);
        Assert.Equal("https", s.Get<IReadOnlyDictionary<string, object?>>("secure_scheme_headers")["X-FORWARDED-PROTO"]);
        Assert.Equal(SettingSource.ConfigFile, s.SourceOf("workers"));
        Assert.Equal([$"Unknown setting 'unrelated' in {Path.Combine(_dir, "unicorn.toml")} ignored"], s.Warnings);
    }

    [Fact]
    public void A_misspelt_key_or_another_servers_table_is_warned_about()
    {
        Write("unicorn.toml", """
            workres = 3

            [tool.gunicorn]
            workers = 2
            """);
        var s = SettingsResolver.Resolve(["-c", "unicorn.toml", "app:app"], s_noEnv, null, _dir);
        Assert.Equal(1, s.Workers);
        var file = Path.Combine(_dir, "unicorn.toml");
        Assert.Equal([$"Unknown setting 'workres' in {file} ignored", $"Unknown setting 'tool' in {file} ignored"], s.Warnings);
    }

    [Fact]
    public void Settings_both_at_the_top_level_and_under_tool_unicorn_are_refused_in_one_line()
    {
        Write("unicorn.toml", """
            bind = "127.0.0.1:9100"
            raw_env = ["A=1"]

            [tool.unicorn]
            workers = 3
            """);
        var e = Assert.Throws<ConfigException>(() => SettingsResolver.Resolve(["-c", "unicorn.toml"], s_noEnv, null, _dir));
        Assert.Equal($"unicorn: config file {Path.Combine(_dir, "unicorn.toml")} sets bind, raw_env at the top level and has a " +
            "[tool.unicorn] table; put the settings in one of them", e.Message);
    }

    [Fact]
    public void Pyproject_tool_unicorn_is_read_when_there_is_no_gunicorn_conf_py()
    {
        Write("pyproject.toml", """
            [project]
            name = "demo"
            workers = 99

            [tool.unicorn]
            workers = 5
            timeout = 12
            """);
        var s = SettingsResolver.Resolve(["app:app"], s_noEnv, null, _dir);
        Assert.Equal(5, s.Workers);
        Assert.Equal(12, s.Timeout);
        Assert.Equal(Path.Combine(_dir, "pyproject.toml"), s.ConfigFile);
        Assert.Equal(7, SettingsResolver.Resolve(["-w", "7", "app:app"], s_noEnv, null, _dir).Workers);
    }

    [Fact]
    public void Pyproject_without_the_table_is_not_a_config_file()
    {
        Write("pyproject.toml", "[project]\nname = \"demo\"\n");
        Assert.Null(SettingsResolver.Resolve(["app:app"], s_noEnv, null, _dir).ConfigFile);
    }

    [Fact]
    public void Toml_values_are_validated_like_any_other()
    {
        Write("bad.toml", "workers = \"lots\"\n");
        var e = Assert.Throws<ConfigException>(() => SettingsResolver.Resolve(["-c", "bad.toml", "app:app"], s_noEnv, null, _dir));
        Assert.StartsWith("unicorn: invalid value for workers (-w/--workers) in " + Path.Combine(_dir, "bad.toml"), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Toml_syntax_error_names_file_and_line()
    {
        Write("broken.toml", "workers = 2\ntimeout = = 3\n");
        var e = Assert.Throws<ConfigException>(() => SettingsResolver.Resolve(["-c", "broken.toml", "app:app"], s_noEnv, null, _dir));
        Assert.True(e.Message.StartsWith($"unicorn: failed to read config file {Path.Combine(_dir, "broken.toml")}, line 2:", StringComparison.Ordinal), e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
