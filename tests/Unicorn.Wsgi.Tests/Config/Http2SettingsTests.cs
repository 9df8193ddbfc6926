using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

/// <summary>The HTTP/2 settings: Gunicorn's names, defaults and validation, plus the values Kestrel cannot take.</summary>
public sealed class Http2SettingsTests
{
    private static readonly Dictionary<string, string?> s_noEnv = [];

    private static Settings Resolve(params string[] argv) => SettingsResolver.Resolve([.. argv, "app:app"], s_noEnv, null, "/tmp");

    private static string Refused(params string[] argv) => Assert.Throws<ConfigException>(() => Resolve(argv)).Message;

    [Fact]
    public void Defaults_are_gunicorns()
    {
        var s = Resolve();
        Assert.Equal(["h1"], s.HttpProtocols);
        Assert.False(s.OffersHttp2);
        Assert.Equal(100, s.Http2MaxConcurrentStreams);
        Assert.Equal(65535, s.Http2InitialWindowSize);
        Assert.Equal(16384, s.Http2MaxFrameSize);
        Assert.Equal(65536, s.Http2MaxHeaderListSize);
    }

    [Fact]
    public void Http_protocols_keeps_the_order_of_preference_case_folded()
    {
        var s = Resolve("--http-protocols", " H2 , h1 ");
        Assert.Equal(["h2", "h1"], s.HttpProtocols);
        Assert.True(s.OffersHttp2);
        Assert.True(s.OffersHttp1);
    }

    [Theory]
    [InlineData("h3", "h3 (HTTP/3) is not implemented")]
    [InlineData("h2,h1,h3", "h3 (HTTP/3) is not implemented")]
    [InlineData("spdy", "Invalid protocol 'spdy'. Valid protocols: h1, h2, h3")]
    [InlineData("h1,h1", "Duplicate protocols specified")]
    public void Http_protocols_refuses_what_it_cannot_serve_in_one_line(string value, string expected)
    {
        var message = Refused("--http-protocols", value);
        Assert.StartsWith("unicorn: invalid value for http_protocols (--http-protocols)", message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
    }

    [Theory]
    [InlineData("--http2-max-frame-size", "16383", "between 16384 and 16777215")]
    [InlineData("--http2-max-frame-size", "16777216", "between 16384 and 16777215")]
    [InlineData("--http2-initial-window-size", "65534", "between 65535 and 2147483647")]
    [InlineData("--http2-max-concurrent-streams", "0", "at least 1")]
    [InlineData("--http2-max-header-list-size", "-1", "Value must be positive")]
    public void Http2_limits_out_of_range_are_refused(string flag, string value, string expected)
    {
        Assert.Contains(expected, Refused(flag, value), StringComparison.Ordinal);
    }

    [Fact]
    public void Http2_limits_in_range_are_taken()
    {
        var s = Resolve("--http2-max-frame-size", "32768", "--http2-initial-window-size", "1048576", "--http2-max-concurrent-streams", "250", "--http2-max-header-list-size", "0");
        Assert.Equal(32768, s.Http2MaxFrameSize);
        Assert.Equal(1048576, s.Http2InitialWindowSize);
        Assert.Equal(250, s.Http2MaxConcurrentStreams);
        Assert.Equal(0, s.Http2MaxHeaderListSize);
    }

    [Theory]
    [InlineData("off", false, false)]
    [InlineData("prior-knowledge", true, false)]
    [InlineData("upgrade", false, true)]
    [InlineData("both", true, true)]
    public void H2c_modes_turn_on_prior_knowledge_and_upgrade(string mode, bool priorKnowledge, bool upgrade)
    {
        var s = Resolve("--http2-cleartext", mode);
        Assert.Equal(priorKnowledge, s.Http2PriorKnowledge);
        Assert.Equal(upgrade, s.Http2CleartextUpgrade);
        Assert.Equal(mode != "off", s.Http2Cleartext);
    }

    [Fact]
    public void An_unknown_h2c_mode_is_refused_in_one_line()
    {
        Assert.StartsWith("unicorn: invalid value for http2_cleartext (--http2-cleartext): 'sometimes'", Refused("--http2-cleartext", "sometimes"), StringComparison.Ordinal);
    }

    [Fact]
    public void H2c_prior_knowledge_is_taken()
    {
        Assert.True(Resolve("--http2-cleartext", "prior-knowledge").Http2PriorKnowledge);
        Assert.False(Resolve().Http2PriorKnowledge);
    }
}
