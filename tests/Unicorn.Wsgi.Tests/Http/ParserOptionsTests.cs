using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Tests.Http;

public class ParserOptionsTests
{
    [Fact]
    public void DefaultsAreGunicorns()
    {
        var o = HttpParserOptions.FromSettings(new Settings());
        Assert.Equal(4094, o.LimitRequestLine);
        Assert.Equal(100, o.LimitRequestFields);
        Assert.Equal(8190, o.LimitRequestFieldSize);
        Assert.Equal(HeaderMapPolicy.Drop, o.HeaderMap);
        Assert.Equal(ProxyProtocolMode.Off, o.ProxyProtocol);
        Assert.False(o.PermitObsoleteFolding || o.StripHeaderSpaces || o.PermitUnconventionalHttpMethod
            || o.PermitUnconventionalHttpVersion || o.CasefoldHttpMethod);
        Assert.Equal(["SCRIPT_NAME", "PATH_INFO"], o.ForwarderHeaders);
        Assert.Equal("https", o.SecureSchemeHeaders["X-FORWARDED-PROTO"]);
        Assert.True(o.ForwardedAllowIps.Contains(System.Net.IPAddress.Loopback));
        Assert.False(o.ForwardedAllowIps.Contains(System.Net.IPAddress.Parse("10.0.0.1")));
    }

    [Fact]
    public void ReadsEverySettingByItsGunicornName()
    {
        var s = new Settings();
        s.Set("limit_request_line", 100);
        s.Set("limit_request_fields", "7");
        s.Set("limit_request_field_size", 0);
        s.Set("permit_obsolete_folding", true);
        s.Set("strip_header_spaces", "true");
        s.Set("permit_unconventional_http_method", true);
        s.Set("permit_unconventional_http_version", true);
        s.Set("casefold_http_method", true);
        s.Set("header_map", "refuse");
        s.Set("proxy_protocol", "v2");
        s.Set("proxy_allow_ips", "10.0.0.0/8");
        s.Set("forwarded_allow_ips", new List<string> { "192.168.0.0/16", "::1" });
        s.Set("secure_scheme_headers", new Dictionary<string, string> { ["X-Scheme"] = "https" });
        s.Set("forwarder_headers", "script_name,REMOTE_USER");
        var o = HttpParserOptions.FromSettings(s);
        Assert.Equal((100, 7, 0), (o.LimitRequestLine, o.LimitRequestFields, o.LimitRequestFieldSize));
        Assert.Equal(8190, o.EffectiveLimitRequestFieldSize);
        Assert.True(o.PermitObsoleteFolding && o.StripHeaderSpaces && o.PermitUnconventionalHttpMethod
            && o.PermitUnconventionalHttpVersion && o.CasefoldHttpMethod);
        Assert.Equal(HeaderMapPolicy.Refuse, o.HeaderMap);
        Assert.Equal(ProxyProtocolMode.V2, o.ProxyProtocol);
        Assert.True(o.ProxyAllowIps.Contains(System.Net.IPAddress.Parse("10.9.8.7")));
        Assert.True(o.ForwardedAllowIps.Contains(System.Net.IPAddress.Parse("192.168.3.4")));
        Assert.False(o.ForwardedAllowIps.Contains(System.Net.IPAddress.Loopback));
        Assert.Equal("https", o.SecureSchemeHeaders["X-SCHEME"]);
        Assert.Equal(["SCRIPT_NAME", "REMOTE_USER"], o.ForwarderHeaders);
    }

    [Fact]
    public void ReadsTheShapesTheSettingsTableStores()
    {
        // The table keeps dicts as Dictionary<string, object?> and lists as string lists.
        var s = new Settings();
        s.Set("secure_scheme_headers", new Dictionary<string, object?> { ["X-Proto"] = "https" });
        s.Set("forwarded_allow_ips", new[] { "*" });
        s.Set("proxy_protocol", "auto");
        var o = HttpParserOptions.FromSettings(s);
        Assert.Equal("https", o.SecureSchemeHeaders["x-proto"]);
        Assert.True(o.ForwardedAllowIps.AllowsAll);
        Assert.Equal(ProxyProtocolMode.Auto, o.ProxyProtocol);
    }

    [Theory]
    [InlineData(true, ProxyProtocolMode.Auto)]
    [InlineData(false, ProxyProtocolMode.Off)]
    [InlineData("true", ProxyProtocolMode.Auto)]
    [InlineData("1", ProxyProtocolMode.Auto)]
    [InlineData(" AUTO ", ProxyProtocolMode.Auto)]
    [InlineData("none", ProxyProtocolMode.Off)]
    [InlineData("0", ProxyProtocolMode.Off)]
    [InlineData("v1", ProxyProtocolMode.V1)]
    [InlineData(null, ProxyProtocolMode.Off)]
    public void ProxyProtocolValuesAsGunicornValidatesThem(object? value, ProxyProtocolMode mode) =>
        Assert.Equal(mode, SettingsTable.Get("proxy_protocol").Validate(value, ResolveContext.Empty));

    [Fact]
    public void BadValuesAreErrors()
    {
        Assert.Throws<SettingValueException>(() => SettingsTable.Get("proxy_protocol").Validate("v3", ResolveContext.Empty));
        Assert.Throws<SettingValueException>(() => SettingsTable.Get("header_map").Validate("ignore", ResolveContext.Empty));
        Assert.Throws<FormatException>(() => IpAllowList.Parse("10.0.0.1/33"));
        Assert.Throws<FormatException>(() => IpAllowList.Parse("not-an-ip"));
    }

    [Fact]
    public void AllowListMatchesNetworksAndStar()
    {
        var list = IpAllowList.Parse("10.0.0.0/8, 2001:db8::/32");
        Assert.True(list.Contains(System.Net.IPAddress.Parse("10.255.0.1")));
        Assert.True(list.Contains(System.Net.IPAddress.Parse("::ffff:10.0.0.1")));
        Assert.True(list.Contains(System.Net.IPAddress.Parse("2001:db8::5")));
        Assert.False(list.Contains(System.Net.IPAddress.Parse("11.0.0.1")));
        Assert.True(list.Contains(null));   // unix socket peers are trusted, as in Gunicorn
        Assert.True(IpAllowList.Parse("*").Contains(System.Net.IPAddress.Parse("8.8.8.8")));
    }
}
