using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Workers.Reload;

namespace Unicorn.Wsgi.Tests.Reload;

public sealed class ReloadSettingsTests
{
    private static readonly Dictionary<string, string?> s_noEnv = [];

    [Fact]
    public void ReloadSettingsResolve()
    {
        var s = SettingsResolver.Resolve(["--reload", "--reload-engine", "poll", "--reload-extra-file", "templates/**/*.html", "app:app"], s_noEnv, null, "/tmp");
        Assert.True(s.Get<bool>("reload"));
        Assert.Equal(ReloadEngine.Poll, Reloader.ParseEngine(s.Get<string>("reload_engine")));
        Assert.Equal(["templates/**/*.html"], s.Get<IReadOnlyList<string>>("reload_extra_files"));
    }

    [Fact]
    public void AMissingLiteralExtraFileIsRefused() =>
        Assert.Throws<ConfigException>(() => SettingsResolver.Resolve(["--reload-extra-file", "no-such-file.cfg", "app:app"], s_noEnv, null, "/tmp"));

    [Fact]
    public void AnUnknownEngineIsRefused() =>
        Assert.Throws<ConfigException>(() => SettingsResolver.Resolve(["--reload-engine", "watchdog", "app:app"], s_noEnv, null, "/tmp"));
}
