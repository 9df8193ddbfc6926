using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

/// <summary>Settings hold typed values, parsed once; the worker's JSON and --print-config carry their plain form.</summary>
public sealed class TypedValueTests
{
    private static Settings Resolve(params string[] argv) =>
        SettingsResolver.Resolve([.. argv, "app:app"], new Dictionary<string, string?>(), null, Path.GetTempPath());

    [Fact]
    public void Resolved_values_are_domain_types()
    {
        var s = Resolve("-b", "unix:/tmp/u.sock", "-b", "[::1]:9", "--proxy-protocol", "v2", "--header-map", "refuse", "--forwarded-allow-ips", "10.0.0.0/8");
        Assert.Equal([ListenAddressKind.Unix, ListenAddressKind.Tcp], s.ListenAddresses.Select(a => a.Kind));
        Assert.Equal(("::1", 9), (s.ListenAddresses[1].Host, s.ListenAddresses[1].Port));
        Assert.Equal(ProxyProtocolMode.V2, s.ProxyProtocol);
        Assert.Equal(HeaderMapPolicy.Refuse, s.HeaderMap);
        Assert.True(s.ForwardedAllowIps.Contains(System.Net.IPAddress.Parse("10.1.2.3")));
    }

    [Fact]
    public void Typed_values_survive_the_json_handed_to_workers_in_their_plain_form()
    {
        var s = Resolve("-b", "localhost", "--proxy-protocol", "true", "--header-map", "dangerous", "--proxy-allow-from", "*");
        var json = s.ToJson();
        Assert.Contains("\"bind\":[\"localhost\"]", json, StringComparison.Ordinal);
        Assert.Contains("\"proxy_protocol\":\"auto\"", json, StringComparison.Ordinal);
        Assert.Contains("\"proxy_allow_ips\":[\"*\"]", json, StringComparison.Ordinal);
        var back = Settings.FromJson(json);
        Assert.Equal(new ListenAddress(ListenAddressKind.Tcp, "localhost", 8000) { Text = "localhost" }, back.ListenAddresses.Single());
        Assert.Equal(ProxyProtocolMode.Auto, back.ProxyProtocol);
        Assert.Equal(HeaderMapPolicy.Dangerous, back.HeaderMap);
        Assert.True(back.ProxyAllowIps.AllowsAll);
    }

    [Fact]
    public void Print_config_shows_the_plain_form()
    {
        var printed = PrintConfig.Render(Resolve("-b", "[::1]:9", "--proxy-protocol", "v1", "--header-map", "refuse"));
        Assert.Contains("\nbind                               = ['[::1]:9']\n", printed, StringComparison.Ordinal);
        Assert.Contains("\nproxy_protocol                     = v1\n", printed, StringComparison.Ordinal);
        Assert.Contains("\nheader_map                         = refuse\n", printed, StringComparison.Ordinal);
        Assert.Contains("\nproxy_allow_ips                    = ['127.0.0.1', '::1']\n", printed, StringComparison.Ordinal);
    }

    [Fact]
    public void Set_validates_like_a_config_file()
    {
        var s = new Settings();
        s.Set("proxy_protocol", "V1");
        s.Set("limit_request_fields", "7");
        Assert.Equal(ProxyProtocolMode.V1, s.ProxyProtocol);
        Assert.Equal(7, s.LimitRequestFields);
        Assert.Throws<SettingValueException>(() => s.Set("bind", "[::1"));
    }
}
