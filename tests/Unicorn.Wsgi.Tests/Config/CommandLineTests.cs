using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

public sealed class CommandLineTests
{
    private static readonly Dictionary<string, string?> s_noEnv = [];

    private static ParsedArguments Argv(params string[] argv) => CommandLine.Parse(argv, s_noEnv).Argv;

    private static ConfigException UsageError(params string[] argv) =>
        Assert.Throws<ConfigException>(() => CommandLine.Parse(argv, s_noEnv));

    [Fact]
    public void Long_short_attached_and_equals_forms()
    {
        var a = Argv("--workers=3", "-t5", "--bind", "a:1", "-b=b:2", "app:app");
        Assert.Equal(3L, a.Values["workers"]);
        Assert.Equal(5L, a.Values["timeout"]);
        Assert.Equal(["a:1", "b:2"], (IEnumerable<string>)a.Values["bind"]!);
        Assert.Equal(["app:app"], a.Positionals);
    }

    [Fact]
    public void Repeatable_flags_accumulate_in_order()
    {
        var a = Argv("-e", "A=1", "--env", "B=2", "-e", "A=3");
        Assert.Equal(["A=1", "B=2", "A=3"], (IEnumerable<string>)a.Values["raw_env"]!);
    }

    [Fact]
    public void Bundled_switches_and_a_trailing_value()
    {
        var a = Argv("-Dw3", "-R");
        Assert.Equal(true, a.Values["daemon"]);
        Assert.Equal(3L, a.Values["workers"]);
        Assert.Equal(true, a.Values["enable_stdio_inheritance"]);
    }

    [Fact]
    public void Unique_prefixes_abbreviate_long_options()
    {
        Assert.Equal(true, Argv("--prel").Values["preload_app"]);
        Assert.Equal(4L, Argv("--graceful", "4").Values["graceful_timeout"]);
    }

    [Fact]
    public void Ambiguous_prefix_is_a_usage_error()
    {
        var e = UsageError("--log", "x");
        Assert.Equal(2, e.ExitCode);
        Assert.StartsWith("usage: unicorn [OPTIONS] [APP_MODULE]\nunicorn: error: ambiguous option: --log could match --error-logfile".Replace("--error-logfile", "--log-file", StringComparison.Ordinal), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Aliases_share_a_setting()
    {
        Assert.Equal("/tmp/e.log", Argv("--log-file", "/tmp/e.log").Values["errorlog"]);
        Assert.Equal("/tmp/e.log", Argv("--error-logfile", "/tmp/e.log").Values["errorlog"]);
        Assert.Equal("x.ini", Argv("--paster", "x.ini").Values["paste"]);
        Assert.Equal(8190L, Argv("--limit-request-field_size", "8190").Values["limit_request_field_size"]);
    }

    [Fact]
    public void No_sendfile_stores_false_and_proxy_protocol_value_is_optional()
    {
        Assert.Equal(false, Argv("--no-sendfile").Values["sendfile"]);
        Assert.Equal("auto", Argv("--proxy-protocol").Values["proxy_protocol"]);
        Assert.Equal("v2", Argv("--proxy-protocol", "v2").Values["proxy_protocol"]);
        Assert.Equal("auto", Argv("--proxy-protocol", "--preload").Values["proxy_protocol"]);
    }

    [Fact]
    public void Double_dash_ends_options_and_negative_numbers_are_values()
    {
        var a = Argv("-w", "-1", "--", "-app");
        Assert.Equal(-1L, a.Values["workers"]);
        Assert.Equal(["-app"], a.Positionals);
    }

    [Fact]
    public void Umask_reads_octal_hex_and_decimal()
    {
        Assert.Equal(18L, Argv("-m", "022").Values["umask"]);
        Assert.Equal(18L, Argv("-m", "0o22").Values["umask"]);
        Assert.Equal(31L, Argv("-m", "0x1f").Values["umask"]);
        Assert.Equal(7L, Argv("-m", "7").Values["umask"]);
    }

    [Theory]
    [InlineData("unrecognized arguments: --x", "--x", "app", "y")]
    [InlineData("argument -b/--bind: expected one argument", "-w", "2", "--bind")]
    [InlineData("argument -w/--workers: invalid int value: '0x10'", "-w", "0x10")]
    [InlineData("argument --preload: ignored explicit argument 'yes'", "--preload=yes")]
    [InlineData("unrecognized arguments: -Z", "-Z")]
    public void Syntax_errors_exit_2_with_argparse_text(string message, params string[] argv)
    {
        var e = UsageError(argv);
        Assert.Equal(2, e.ExitCode);
        Assert.Equal($"usage: unicorn [OPTIONS] [APP_MODULE]\nunicorn: error: {message}", e.Message);
    }

    [Fact]
    public void Later_positionals_after_options_are_unrecognized_as_in_argparse()
    {
        Assert.Equal("usage: unicorn [OPTIONS] [APP_MODULE]\nunicorn: error: unrecognized arguments: b", UsageError("a", "-w", "2", "b").Message);
    }

    [Fact]
    public void GUNICORN_CMD_ARGS_is_split_like_a_shell_and_kept_apart()
    {
        var env = new Dictionary<string, string?> { ["GUNICORN_CMD_ARGS"] = "--bind '127.0.0.1:1' -e \"A=x y\" --name a\\ b ignored" };
        var r = CommandLine.Parse(["-w", "2"], env);
        Assert.Equal(["127.0.0.1:1"], (IEnumerable<string>)r.Environment.Values["bind"]!);
        Assert.Equal(["A=x y"], (IEnumerable<string>)r.Environment.Values["raw_env"]!);
        Assert.Equal("a b", r.Environment.Values["proc_name"]);
        Assert.False(r.Argv.Values.ContainsKey("bind"));
        Assert.Null(r.AppModule);
    }

    [Fact]
    public void Unclosed_quote_in_GUNICORN_CMD_ARGS_is_an_error()
    {
        var e = Assert.Throws<ConfigException>(() => CommandLine.Parse([], new Dictionary<string, string?> { ["GUNICORN_CMD_ARGS"] = "-w 'abc" }));
        Assert.Equal("Error: No closing quotation", e.Message);
    }

    [Fact]
    public void Help_lists_every_flag_and_version_names_unicorn()
    {
        var help = CommandLine.Parse(["-h"], s_noEnv).Output!;
        Assert.StartsWith("usage: unicorn [OPTIONS] [APP_MODULE]", help, StringComparison.Ordinal);
        foreach (var flag in SettingsTable.All.SelectMany(s => s.Flags))
        {
            Assert.Contains(flag, help, StringComparison.Ordinal);
        }

        Assert.Matches(@"^unicorn \(version \d+\.\d+\.\d+.*\)\n$", CommandLine.Parse(["-w", "2", "--version"], s_noEnv).Output!);
        var e = Assert.Throws<ConfigException>(() => SettingsResolver.Resolve(["--help"], s_noEnv, null, "/"));
        Assert.Equal(0, e.ExitCode);
    }
}
