using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

public sealed class ValidatorTests
{
    private static readonly ResolveContext s_context = new(new Dictionary<string, string?>(), "/tmp");

    private static object? Validate(string name, object? value) => SettingsTable.Get(name).Validate(value, s_context);

    private static IEnumerable<string> Texts(object? addresses) => ((IReadOnlyList<ListenAddress>)addresses!).Select(a => a.Text);

    private static string Rejects(string name, object? value) =>
        Assert.Throws<SettingValueException>(() => Validate(name, value)).Message;

    [Theory]
    [InlineData("10", 10)]
    [InlineData("0x10", 16)]
    [InlineData("0o17", 15)]
    [InlineData("0b11", 3)]
    [InlineData(" 1_000 ", 1000)]
    [InlineData("0", 0)]
    public void Integers_from_text_read_like_int_x_0(string text, int expected) => Assert.Equal(expected, Validate("backlog", text));

    [Theory]
    [InlineData("010")]
    [InlineData("abc")]
    [InlineData("1__0")]
    [InlineData("")]
    [InlineData("99999999999")]
    public void Bad_integers_are_rejected(string text) => Rejects("timeout", text);

    [Fact]
    public void Integers_must_not_be_negative_and_bools_count_as_ints()
    {
        Assert.Equal("Value must be positive: -1", Rejects("workers", -1L));
        Assert.Equal(1, Validate("workers", true));
        Assert.StartsWith("Not an integer", Rejects("workers", 1.5), StringComparison.Ordinal);
    }

    [Fact]
    public void Booleans_are_true_or_false_words_or_bools()
    {
        Assert.Equal(true, Validate("daemon", "TRUE "));
        Assert.Equal(false, Validate("daemon", "false"));
        Assert.Equal(true, Validate("daemon", true));
        Assert.Equal("Invalid boolean: yes", Rejects("daemon", "yes"));
        Assert.StartsWith("Invalid type for casting", Rejects("daemon", 1L), StringComparison.Ordinal);
    }

    [Fact]
    public void Strings_are_trimmed_and_must_be_strings()
    {
        Assert.Equal("/var/run/u.pid", Validate("pidfile", " /var/run/u.pid "));
        Assert.Null(Validate("pidfile", null));
        Assert.StartsWith("Not a string", Rejects("pidfile", 3L), StringComparison.Ordinal);
    }

    [Fact]
    public void Lists_accept_a_single_string_or_a_list()
    {
        Assert.Equal(new[] { "127.0.0.1:1" }, Texts(Validate("bind", "127.0.0.1:1")));
        Assert.Equal(new[] { "a:1", "[::1]:2" }, Texts(Validate("bind", new List<object?> { "a:1", "[::1]:2" })));
        Assert.Equal(Array.Empty<string>(), Validate("raw_env", null));
    }

    [Theory]
    [InlineData("::::")]
    [InlineData("host:port")]
    [InlineData("[::1")]
    [InlineData("1.2.3.4:70000")]
    [InlineData("fd://x")]
    [InlineData("unix:")]
    [InlineData("bad host:80")]
    public void Malformed_bind_addresses_are_rejected(string address) => Rejects("bind", address);

    [Theory]
    [InlineData("0.0.0.0:8000")]
    [InlineData("localhost")]
    [InlineData("[::]:8000")]
    [InlineData("unix:/tmp/a.sock")]
    [InlineData("unix:///tmp/a.sock")]
    [InlineData("fd://3")]
    [InlineData("tcp://example.com:80")]
    [InlineData(":8000")]
    public void Well_formed_bind_addresses_pass(string address) => Assert.Equal(new[] { address }, Texts(Validate("bind", address)));

    [Fact]
    public void Address_lists_take_ips_networks_and_star()
    {
        Assert.Equal(new[] { "10.0.0.0/8", "::1", "*" }, ((IpAllowList)Validate("forwarded_allow_ips", "10.0.0.0/8, ::1,*")!).Entries);
        Assert.Equal("192.168.1.1/24 has host bits set", Rejects("forwarded_allow_ips", "192.168.1.1/24"));
        Assert.Equal("'10.0.0.0/33' does not appear to be an IPv4 or IPv6 network", Rejects("forwarded_allow_ips", "10.0.0.0/33"));
        Rejects("proxy_allow_ips", "1.2.3");
        Rejects("proxy_allow_ips", "example.com");
    }

    [Fact]
    public void Umask_from_a_config_file_is_an_int()
    {
        Assert.Equal(18, Validate("umask", 18L));
        Assert.Equal(18, Validate("umask", "0o22"));
    }

    [Fact]
    public void User_and_group_take_names_or_numbers()
    {
        Assert.Equal(0, Validate("user", "root"));
        Assert.Equal(1234, Validate("user", "1234"));
        Assert.Equal(0, Validate("group", "root"));
        Assert.Equal("No such user: 'no-such-user-xyz'", Rejects("user", "no-such-user-xyz"));
        Assert.Equal("No such group: 'no-such-group-xyz'", Rejects("group", "no-such-group-xyz"));
    }

    [Fact]
    public void Chdir_must_exist_and_becomes_absolute()
    {
        Assert.Equal("/tmp", Validate("chdir", "."));
        Assert.Equal("can't chdir to 'no/such/dir'", Rejects("chdir", "no/such/dir"));
    }

    [Fact]
    public void Hooks_check_arity_and_dotted_paths()
    {
        Assert.Equal(HookOrigin.ConfigFile, ((HookReference)Validate("pre_fork", new PythonCallable("f", 2))!).Origin);
        Assert.Equal("Value must have an arity of: 2 (got 3)", Rejects("pre_fork", new PythonCallable("f", 3)));
        Assert.Equal(HookOrigin.ConfigFile, ((HookReference)Validate("pre_fork", new PythonCallable("f", -1))!).Origin);
        foreach (var arity in new[] { 2, 3, 4 })
        {
            Validate("post_request", new PythonCallable("p", arity));
        }

        Rejects("post_request", new PythonCallable("p", 1));
        Assert.Equal("pkg.mod.fn", ((HookReference)Validate("on_exit", "pkg.mod.fn")!).DottedPath);
        Assert.StartsWith("Value 'fn' is not import string", Rejects("on_exit", "fn"), StringComparison.Ordinal);
        Assert.StartsWith("Value is not callable", Rejects("on_exit", 3L), StringComparison.Ordinal);
    }

    [Fact]
    public void Enumerations_are_case_insensitive_and_closed()
    {
        Assert.Equal(HeaderMapPolicy.Refuse, Validate("header_map", "Refuse"));
        Rejects("header_map", "keep");
        Assert.Equal(ProxyProtocolMode.Auto, Validate("proxy_protocol", "true"));
        Assert.Equal(ProxyProtocolMode.Off, Validate("proxy_protocol", false));
        Assert.Equal(ProxyProtocolMode.V1, Validate("proxy_protocol", "V1"));
        Rejects("proxy_protocol", "v3");
        Assert.Equal("warning", Validate("loglevel", "warning"));
        Rejects("loglevel", "verbose");
    }

    [Fact]
    public void Dicts_must_be_dicts_and_classes_take_names_or_class_objects()
    {
        Assert.Equal("ssl", ((IReadOnlyDictionary<string, object?>)Validate("secure_scheme_headers", new Dictionary<string, object?> { ["X"] = "ssl" })!)["X"]);
        Assert.StartsWith("Value is not a dictionary", Rejects("logconfig_dict", "x"), StringComparison.Ordinal);
        Assert.Equal("my.workers.W", Validate("worker_class", new PythonClass("my.workers.W")));
    }

    [Fact]
    public void Statsd_and_ssl_details()
    {
        Assert.Equal(new StatsdAddress("localhost:8125", "localhost", 8125, null), Validate("statsd_host", "localhost:8125"));
        Assert.Equal(new StatsdAddress("unix:8125", "unix", 8125, null), Validate("statsd_host", "unix:8125"));
        Assert.Equal("Value must be one of ('host:port', 'unix://PATH')", Rejects("statsd_host", "a:b:c"));
        Assert.Equal(5, Validate("ssl_version", "TLSv1_2"));
        // Ignored, as in Gunicorn 26.1, which takes any value: a name Python's ssl lacks must not stop the server.
        Assert.Equal(2, Validate("ssl_version", "SSLv3"));
        Assert.Equal(2, Validate("ssl_version", " TLSv1_3"));
        Assert.Equal(2, Validate("cert_reqs", "2"));
        Rejects("cert_reqs", "3");
    }
}
