using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

/// <summary>The dirty arbiter's settings: Gunicorn 26.1's defaults, its spec syntax checked before anything starts.</summary>
public sealed class DirtySettingsTests
{
    private static readonly Dictionary<string, string?> s_noEnv = [];

    private static Settings Resolve(params string[] argv) => SettingsResolver.Resolve([.. argv, "app:app"], s_noEnv, null, "/tmp");

    [Fact]
    public void Defaults_are_gunicorns_and_leave_the_pool_off()
    {
        var s = Resolve();
        Assert.Empty(s.DirtyApps);
        Assert.Equal((0, 300, 1, 30), (s.DirtyWorkers, s.DirtyTimeout, s.DirtyThreads, s.DirtyGracefulTimeout));
        Assert.False(s.DirtyEnabled);
    }

    [Fact]
    public void Apps_and_workers_together_turn_the_pool_on()
    {
        Assert.False(Resolve("--dirty-app", "m:A").DirtyEnabled);
        Assert.False(Resolve("--dirty-workers", "2").DirtyEnabled);
        var s = Resolve("--dirty-app", "m:A", "--dirty-app", "pkg.mod:B:2", "--dirty-workers", "2", "--dirty-threads", "4");
        Assert.True(s.DirtyEnabled);
        Assert.Equal(["m:A", "pkg.mod:B:2"], s.DirtyApps);
        Assert.Equal(4, s.DirtyThreads);
    }

    [Theory]
    [InlineData("nocolon", "Invalid import path format: nocolon")]
    [InlineData("m:", "Invalid import path format: m:")]
    [InlineData("a:b:c:d", "Invalid import path format: a:b:c:d")]
    [InlineData("m:A:0", "Invalid worker count in spec: m:A:0")]
    [InlineData("m:A:two", "Invalid worker count in spec: m:A:two")]
    public void A_bad_spec_is_one_line_naming_the_setting(string spec, string message)
    {
        var e = Assert.Throws<ConfigException>(() => Resolve("--dirty-app", spec));
        Assert.Contains("dirty_apps", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_negative_count_is_refused()
    {
        Assert.Throws<ConfigException>(() => Resolve("--dirty-workers", "-1"));
    }
}
