using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

public sealed class PrecedenceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-prec-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteFile(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static Dictionary<string, string?> Env(string? cmdArgs = null) =>
        cmdArgs is null ? [] : new() { ["GUNICORN_CMD_ARGS"] = cmdArgs };

    [Fact]
    public void Config_file_beats_defaults()
    {
        var path = WriteFile("my.conf.py", "");
        var python = new FakeConfigFile(("workers", 4L), ("timeout", "60"), ("not_a_setting", 1L));
        var s = SettingsResolver.Resolve(["-c", path, "app:app"], Env(), python, _dir);
        Assert.Equal(4, s.Workers);
        Assert.Equal(60, s.Timeout);
        Assert.Equal(SettingSource.ConfigFile, s.SourceOf("workers"));
        Assert.Equal(path, s.ConfigFile);
        Assert.False(s.Contains("not_a_setting"));
    }

    [Fact]
    public void GUNICORN_CMD_ARGS_beats_config_file()
    {
        var path = WriteFile("my.conf.py", "");
        var s = SettingsResolver.Resolve(["-c", path, "app:app"], Env("-w 6"), new FakeConfigFile(("workers", 4L)), _dir);
        Assert.Equal(6, s.Workers);
        Assert.Equal(SettingSource.Environment, s.SourceOf("workers"));
    }

    [Fact]
    public void Argv_beats_everything()
    {
        var path = WriteFile("my.conf.py", "");
        var s = SettingsResolver.Resolve(["-c", path, "-w", "8", "app:app"], Env("-w 6"), new FakeConfigFile(("workers", 4L)), _dir);
        Assert.Equal(8, s.Workers);
    }

    [Fact]
    public void Config_file_beats_APP_MODULE_for_the_process_name()
    {
        var path = WriteFile("my.conf.py", "");
        var s = SettingsResolver.Resolve(["-c", path, "app:app"], Env(), new FakeConfigFile(("default_proc_name", "named")), _dir);
        Assert.Equal("named", s.ProcName);
        Assert.Equal("app:app", SettingsResolver.Resolve(["app:app"], Env(), null, _dir).ProcName);
    }

    [Fact]
    public void Default_config_file_is_read_only_without_c()
    {
        var conventional = WriteFile("gunicorn.conf.py", "");
        var python = new FakeConfigFile(("workers", 3L));
        Assert.Equal(3, SettingsResolver.Resolve(["app:app"], Env(), python, _dir).Workers);
        Assert.Equal(conventional, python.Executed.Single().Target);

        var other = WriteFile("other.py", "");
        python.Executed.Clear();
        SettingsResolver.Resolve(["-c", other, "app:app"], Env(), python, _dir);
        Assert.Equal(other, python.Executed.Single().Target);
    }

    [Fact]
    public void Config_location_forms()
    {
        WriteFile("a.py", "");
        var python = new FakeConfigFile();
        SettingsResolver.Resolve(["-c", "file:a.py", "app:app"], Env(), python, _dir);
        SettingsResolver.Resolve(["-c", "python:pkg.settings", "app:app"], Env(), python, _dir);
        SettingsResolver.Resolve(["app:app"], Env("-c a.py"), python, _dir);
        Assert.Equal(
            [new ConfigLocation(ConfigLocationKind.PythonFile, Path.Combine(_dir, "a.py")),
             new ConfigLocation(ConfigLocationKind.PythonModule, "pkg.settings"),
             new ConfigLocation(ConfigLocationKind.PythonFile, Path.Combine(_dir, "a.py"))],
            python.Executed);
    }

    [Fact]
    public void Missing_config_file_is_one_line()
    {
        var e = Assert.Throws<ConfigException>(() => SettingsResolver.Resolve(["-c", "nope.py", "app:app"], Env(), new FakeConfigFile(), _dir));
        Assert.Equal("unicorn: error: config file 'nope.py' doesn't exist", e.Message);
        Assert.Equal(1, e.ExitCode);
    }

    [Fact]
    public void A_directory_given_as_the_config_file_is_named_as_one()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "conf"));
        var e = Assert.Throws<ConfigException>(() => SettingsResolver.Resolve(["-c", "conf", "app:app"], Env(), new FakeConfigFile(), _dir));
        Assert.Equal("unicorn: error: config file 'conf' is a directory", e.Message);
    }

    [Fact]
    public void Config_file_values_go_through_the_validators()
    {
        var path = WriteFile("c.py", "");
        var e = Assert.Throws<ConfigException>(() =>
            SettingsResolver.Resolve(["-c", path, "app:app"], Env(), new FakeConfigFile(("workers", "many")), _dir));
        Assert.Equal($"unicorn: invalid value for workers (-w/--workers) in {path}: 'many': invalid literal for int() with base 0: 'many'", e.Message);
    }

    [Fact]
    public void Wsgi_app_from_config_file_is_used_without_APP_MODULE()
    {
        var path = WriteFile("c.py", "");
        var s = SettingsResolver.Resolve(["-c", path], Env(), new FakeConfigFile(("wsgi_app", "pkg.web:app")), _dir);
        Assert.Equal("pkg.web:app", s.AppUri);
        var e = Assert.Throws<ConfigException>(() => SettingsResolver.Resolve([], Env(), null, _dir));
        Assert.Equal("unicorn: error: No application module specified.", e.Message);
    }

    [Fact]
    public void Hooks_from_the_config_file_keep_their_names_and_arity_is_checked()
    {
        var path = WriteFile("c.py", "");
        var s = SettingsResolver.Resolve(["-c", path, "app:app"], Env(),
            new FakeConfigFile(("when_ready", new PythonCallable("when_ready", 1)), ("post_request", new PythonCallable("post", 2))), _dir);
        Assert.Equal(new HookReference(HookOrigin.ConfigFile, "when_ready"), s.Get<HookReference>("when_ready"));
        Assert.Equal(HookOrigin.ConfigFile, s.Get<HookReference>("post_request").Origin);
        Assert.True(s.Get<HookReference>("on_exit").IsDefault);

        var e = Assert.Throws<ConfigException>(() => SettingsResolver.Resolve(["-c", path, "app:app"], Env(),
            new FakeConfigFile(("pre_fork", new PythonCallable("pre_fork", 1))), _dir));
        Assert.Contains("invalid value for pre_fork", e.Message, StringComparison.Ordinal);
        Assert.Contains("arity of: 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_round_trip_through_json()
    {
        var path = WriteFile("c.py", "");
        var python = new FakeConfigFile(
            ("bind", new List<object?> { "127.0.0.1:9000", "unix:/tmp/u.sock" }),
            ("when_ready", new PythonCallable("when_ready", 1)),
            ("pre_request", "mypkg.hooks.pre_request"));
        var s = SettingsResolver.Resolve(["-c", path, "--no-sendfile", "-w", "3", "app:app"], Env(), python, _dir);
        s.Set("logconfig_dict", new Dictionary<string, object?> { ["version"] = 1L, ["loggers"] = new Dictionary<string, object?> { ["x"] = new List<object?> { "a", true } } });
        var back = Settings.FromJson(s.ToJson());
        Assert.Equal(PrintConfig.Render(s), PrintConfig.Render(back));
        Assert.Equal(s.AppUri, back.AppUri);
        Assert.Equal(s.ConfigFile, back.ConfigFile);
        Assert.Equal(3, back.Workers);
        Assert.False(back.Sendfile);
        Assert.Equal(["127.0.0.1:9000", "unix:/tmp/u.sock"], back.Bind);
        Assert.Equal(new HookReference(HookOrigin.DottedPath, "pre_request", "mypkg.hooks.pre_request"), back.Get<HookReference>("pre_request"));
        Assert.Equal(SettingSource.ConfigFile, back.SourceOf("bind"));
        Assert.Equal(1L, back.Get<IReadOnlyDictionary<string, object?>>("logconfig_dict")["version"]);
    }
}
