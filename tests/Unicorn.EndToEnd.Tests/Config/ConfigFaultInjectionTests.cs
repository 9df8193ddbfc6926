using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Config;

/// <summary>
/// Fault injection over the master's Python entry points that stop it: every kind of config the master reads,
/// malformed, and the hooks after which Gunicorn stops too (on_starting; post_fork fails the worker's boot).
/// Each ends with Gunicorn's exit status (never a signal), one line naming the file or hook at fault, and no
/// .NET stack trace. Python runs with <c>PYTHONMALLOC=debug</c>, so touching Python without the GIL aborts.
/// </summary>
public sealed class ConfigFaultInjectionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-faults-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Faults() => new()
    {
        "config file: syntax error",
        "config file: raises at import",
        "TOML config: malformed",
        "--log-config: malformed ini",
        "logconfig_dict: bad handler",
        "logconfig_dict: a file handler in a missing directory",
        "--log-config-json: bad JSON",
        "--paste: malformed ini",
        "--paste: logging sections name a missing handler",
        "on_starting raises",
        "post_fork raises",
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public void Stops_with_gunicorns_status_and_one_line_naming_the_culprit(string fault)
    {
        var (args, status, line) = Prepare(fault);
        using var server = UnicornServer.Start(new Dictionary<string, string> { ["PYTHONMALLOC"] = "debug" },
            ["-w", "1", "-b", $"127.0.0.1:{UnicornServer.FreePort()}", .. args]);
        var code = server.WaitForExit(60);

        Assert.True(code < 128, $"{fault}: killed by signal {code - 128}:\n{server.Log}");
        Assert.Equal(status, code);
        // Polled: on a loaded machine the last lines can reach the test after the exit does.
        Assert.True(UnicornServer.Poll(() => server.Lines.Any(l => line.All(part => l.Contains(part, StringComparison.Ordinal))), 15),
            $"{fault}: no line with {string.Join(" + ", line)}:\n{server.Log}");
        Assert.DoesNotContain("   at Unicorn.", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("Fatal Python error", server.Log, StringComparison.Ordinal);
    }

    private (string[] Args, int Status, string[] Line) Prepare(string fault)
    {
        var conf = Path.Combine(_dir, "gunicorn.conf.py");
        string[] app = ["pyfixtures.hello:app"];
        switch (fault)
        {
            case "config file: syntax error":
                File.WriteAllText(conf, "workers = (\n");
                return (["-c", conf, .. app], 1, [conf, "SyntaxError"]);
            case "config file: raises at import":
                File.WriteAllText(conf, "raise RuntimeError('boom at import')\n");
                return (["-c", conf, .. app], 1, [conf, "RuntimeError: boom at import"]);
            case "TOML config: malformed":
                var toml = Path.Combine(_dir, "gunicorn.toml");
                File.WriteAllText(toml, "workers = [\n");
                return (["-c", toml, .. app], 1, [toml]);
            case "--log-config: malformed ini":
                var ini = Path.Combine(_dir, "logging.ini");
                File.WriteAllText(ini, "[loggers]\nkeys=root\n\n[logger_root]\nhandlers=nope\n");
                return (["--log-config", ini, .. app], 1, ["--log-config", ini]);
            case "logconfig_dict: bad handler":
                File.WriteAllText(conf, """logconfig_dict = {"version": 1, "handlers": {"h": {"class": "no.such.Handler"}}, "root": {"handlers": ["h"]}}""" + "\n");
                // What went wrong (dictConfig's __cause__) follows its words, which name only the part.
                return (["-c", conf, .. app], 1, ["logconfig_dict", "Unable to configure handler 'h'", "No module named 'no'"]);
            case "logconfig_dict: a file handler in a missing directory":
                File.WriteAllText(conf, """logconfig_dict = {"version": 1, "handlers": {"h": {"class": "logging.FileHandler", "filename": "/nonexistent-dir/x.log"}}, "root": {"handlers": ["h"]}}""" + "\n");
                return (["-c", conf, .. app], 1, ["logconfig_dict", "Unable to configure handler 'h'", "FileNotFoundError", "/nonexistent-dir/x.log"]);
            case "--log-config-json: bad JSON":
                var json = Path.Combine(_dir, "logging.json");
                File.WriteAllText(json, "{\"version\": 1,");
                return (["--log-config-json", json, .. app], 1, ["--log-config-json", json, "JSONDecodeError"]);
            case "--paste: malformed ini":
                var paste = Path.Combine(_dir, "paste.ini");
                File.WriteAllText(paste, "[app:main\nuse = egg:nothing\n");
                return (["--paste", paste], 1, [paste, "line 1"]);
            case "--paste: logging sections name a missing handler":
                var logged = Path.Combine(_dir, "logged.ini");
                File.WriteAllText(logged, "[app:main]\nuse = egg:nothing\n\n[loggers]\nkeys=root\n\n[handlers]\nkeys=\n\n[formatters]\nkeys=\n\n[logger_root]\nhandlers=nope\n");
                return (["--paste", logged], 1, ["Error: --paste ", logged, "KeyError: 'nope'"]); // not --log-config, which was not given
            case "on_starting raises":
                File.WriteAllText(conf, "def on_starting(server):\n    raise RuntimeError('boom in on_starting')\n");
                return (["-c", conf, .. app], 1, ["Error: the on_starting hook raised: RuntimeError: boom in on_starting"]);
            case "post_fork raises":
                File.WriteAllText(conf, "def post_fork(server, worker):\n    raise RuntimeError('boom in post_fork')\n");
                return (["-c", conf, .. app], 3, ["the post_fork hook raised: RuntimeError: boom in post_fork"]);
            default:
                throw new ArgumentOutOfRangeException(nameof(fault), fault, null);
        }
    }
}
