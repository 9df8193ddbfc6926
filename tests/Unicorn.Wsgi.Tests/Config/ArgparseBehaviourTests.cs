using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

/// <summary>
/// The argparse behaviours Gunicorn users rely on, which System.CommandLine does not have and the edge
/// (<c>ArgparseSyntax</c>) provides; every expectation was checked against Gunicorn 20.1's argparse.
/// </summary>
public sealed class ArgparseBehaviourTests
{
    private const string Usage = "usage: unicorn [OPTIONS] [APP_MODULE]\nunicorn: error: ";
    private static readonly Dictionary<string, string?> s_noEnv = [];

    private static ParsedArguments Argv(params string[] argv) => CommandLine.Parse(argv, s_noEnv).Argv;

    [Theory]
    [InlineData("-w4")]
    [InlineData("-w=4")]
    [InlineData("-w", "4")]
    [InlineData("--workers=4")]
    [InlineData("--workers", "4")]
    [InlineData("-Dw4")]
    [InlineData("-w", "9", "--workers", "4")] // the last occurrence wins
    public void Every_argparse_spelling_of_a_value_sets_the_setting(params string[] argv) =>
        Assert.Equal(4L, Argv(argv).Values["workers"]);

    [Fact]
    public void Argv_forms_resolve_to_typed_settings()
    {
        var s = SettingsResolver.Resolve(["-w4", "--keep", "7", "-b", "127.0.0.1:1", "--bind=127.0.0.1:2", "--max-requests-j=3", "--", "app:app"], s_noEnv, null, "/");
        Assert.Equal(4, s.Workers);
        Assert.Equal(["127.0.0.1:1", "127.0.0.1:2"], s.Bind);
        Assert.Equal(7, s.Get<int>("keepalive"));
        Assert.Equal(3, s.Get<int>("max_requests_jitter"));
        Assert.Equal("app:app", s.AppUri);
    }

    [Fact]
    public void Values_that_look_like_options_stay_values_where_argparse_keeps_them()
    {
        Assert.Equal(["--workers"], (IEnumerable<string>)Argv("--bind=--workers").Values["bind"]!);
        Assert.Equal("-", Argv("--access-logfile", "-").Values["accesslog"]);
        Assert.Equal(-5L, Argv("--max-requests", "-5").Values["max_requests"]);
        // No response files: '@' is an ordinary character to argparse.
        Assert.Equal(["@app"], Argv("@app").Positionals);
        Assert.Equal("auto", Argv("--proxy-protocol", "v2", "--proxy-protocol").Values["proxy_protocol"]);
    }

    [Fact]
    public void Double_dash_makes_everything_after_it_positional()
    {
        var a = Argv("--preload", "--", "-w", "3");
        Assert.Equal(["-w", "3"], a.Positionals);
        Assert.False(a.Values.ContainsKey("workers"));
    }

    [Theory]
    [InlineData("-v")]
    [InlineData("--version")]
    [InlineData("--vers")]
    [InlineData("--no-such-flag", "-v")] // the version action exits before unrecognized arguments are reported
    public void Version_flags_print_the_version(params string[] argv) =>
        Assert.StartsWith("unicorn (version ", CommandLine.Parse(argv, s_noEnv).Output, StringComparison.Ordinal);

    [Theory]
    [InlineData("-h")]
    [InlineData("--hel")]
    [InlineData("-Dh")]
    [InlineData("--x", "-h")]
    public void Help_flags_print_the_help(params string[] argv) =>
        Assert.StartsWith("usage: unicorn [OPTIONS] [APP_MODULE]\n\noptions:\n", CommandLine.Parse(argv, s_noEnv).Output, StringComparison.Ordinal);

    [Theory]
    [InlineData("ambiguous option: --work could match --workers, --worker-class, --worker-connections, --worker-heap-limit, --worker-start, --worker-spares, --worker-tmp-dir", "--work", "4")]
    [InlineData("ambiguous option: --work could match --workers, --worker-class, --worker-connections, --worker-heap-limit, --worker-start, --worker-spares, --worker-tmp-dir", "-h", "--work")] // found before -h acts
    [InlineData("unrecognized arguments: --no-such-flag", "--no-such-flag", "app:app")]
    [InlineData("unrecognized arguments: --bind:127.0.0.1:1", "--bind:127.0.0.1:1")] // '=' separates a value, ':' does not
    [InlineData("argument -b/--bind: expected one argument", "--bind", "--preload")]
    [InlineData("argument -b/--bind: expected one argument", "-b", "--", "app:app")]
    [InlineData("argument -w/--workers: invalid int value: 'x'", "--workers=x")]
    [InlineData("argument -w/--workers: invalid int value: 'abc'", "-w", "abc", "--bind")] // the first error in order
    [InlineData("argument -w/--workers: invalid int value: 'abc'", "-w", "abc", "-h")]
    [InlineData("argument -D/--daemon: ignored explicit argument 'x'", "-Dx")]
    [InlineData("argument -D/--daemon: ignored explicit argument 'x'", "-D=x")]
    [InlineData("argument -h/--help: ignored explicit argument 'x'", "-hx")]
    [InlineData("argument -v/--version: ignored explicit argument '1'", "--version=1")]
    public void Usage_errors_are_one_argparse_line_and_exit_2(string message, params string[] argv)
    {
        var e = Assert.Throws<ConfigException>(() => CommandLine.Parse(argv, s_noEnv));
        Assert.Equal(2, e.ExitCode);
        Assert.Equal(Usage + message, e.Message);
    }

    [Fact]
    public void GUNICORN_CMD_ARGS_gets_the_same_argparse_rules()
    {
        var env = new Dictionary<string, string?> { ["GUNICORN_CMD_ARGS"] = "-w4 --keep=7 --bind=127.0.0.1:1" };
        var r = CommandLine.Parse([], env);
        Assert.Equal(4L, r.Environment.Values["workers"]);
        Assert.Equal(7L, r.Environment.Values["keepalive"]);
        var e = Assert.Throws<ConfigException>(() => CommandLine.Parse([], new Dictionary<string, string?> { ["GUNICORN_CMD_ARGS"] = "--work 4" }));
        Assert.Equal(2, e.ExitCode);
    }
}
