using System.Diagnostics;
using System.Text.RegularExpressions;
using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

public sealed class PrintConfigTests : IDisposable
{
    private const string Gunicorn = "/usr/bin/gunicorn";

    // Defaults that differ from Gunicorn 20.1 on purpose; each is explained in docs/differences.md ("Settings").
    private static readonly Dictionary<string, string> s_documentedDifferences = new(StringComparer.Ordinal)
    {
        // Gunicorn 22+ also trusts ::1; Unicorn follows current Gunicorn.
        ["forwarded_allow_ips"] = "['127.0.0.1', '::1']",
        ["proxy_allow_ips"] = "['127.0.0.1', '::1']",
        // Gunicorn 24.1+ names the mode (off/v1/v2/auto) instead of a boolean.
        ["proxy_protocol"] = "off",
    };

    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-print-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Lists_every_setting_gunicorn_20_1_lists_with_the_same_defaults()
    {
        Assert.True(File.Exists(Gunicorn), $"{Gunicorn} is missing: apt-get install -y gunicorn");
        var theirs = ParseLines(RunGunicorn("--print-config", "app:app"));
        Assert.True(theirs.Count > 80, "gunicorn --print-config printed too little");

        var env = new Dictionary<string, string?> { ["HOME"] = "/root" };
        var ours = ParseLines(PrintConfig.Render(SettingsResolver.Resolve(["--print-config", "app:app"], env, null, _dir)));

        var problems = new List<string>();
        foreach (var (name, value) in theirs)
        {
            if (!ours.TryGetValue(name, out var mine))
            {
                problems.Add($"missing: {name}");
            }
            else if (s_documentedDifferences.TryGetValue(name, out var documented))
            {
                if (mine != documented)
                {
                    problems.Add($"{name}: documented as {documented}, printed {mine}");
                }
            }
            else if (mine != value)
            {
                problems.Add($"{name}: gunicorn {value}, unicorn {mine}");
            }
        }

        Assert.Empty(problems);
    }

    [Fact]
    public void Lines_are_sorted_and_aligned()
    {
        var text = PrintConfig.Render(SettingsResolver.Resolve(["app:app"], new Dictionary<string, string?>(), null, _dir));
        var lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal(SettingsTable.All.Count, lines.Length);
        var names = lines.Select(l => l.Split(' ')[0]).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Assert.Single(lines.Select(l => l.IndexOf(" = ", StringComparison.Ordinal)).Distinct());
        Assert.Contains(lines, l => l.StartsWith("on_starting ", StringComparison.Ordinal) && l.EndsWith(" = <OnStarting.on_starting()>", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("bind ", StringComparison.Ordinal) && l.EndsWith(" = ['127.0.0.1:8000']", StringComparison.Ordinal));
    }

    // Gunicorn 26.1's lines for the same flags (the installed 20.1 fails on some of them).
    [Theory]
    [InlineData("localhost:8125", "('localhost', 8125)")]
    [InlineData("LOCALHOST", "('localhost', 8125)")]
    [InlineData("unix:8125", "('unix', 8125)")]
    [InlineData("unix:///tmp/s", "/tmp/s")]
    [InlineData("[::1]:9", "('::1', 9)")]
    [InlineData("tcp://h:5", "('h', 5)")]
    public void Statsd_host_prints_as_gunicorns_validated_form(string flag, string printed)
    {
        var settings = SettingsResolver.Resolve(["--statsd-host", flag, "app:app"], new Dictionary<string, string?>(), null, _dir);
        Assert.Equal(printed, ParseLines(PrintConfig.Render(settings))["statsd_host"]);
    }

    /// <summary>
    /// The Custom Application API's cfg validates with the function validators.py has for each setting's validator
    /// name; a row naming one it lacks would stop every BaseApplication script, so it fails here first.
    /// </summary>
    [Fact]
    public void Every_settings_gunicorn_validator_is_one_the_python_package_has()
    {
        var source = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "packaging", "python", "unicorn_server", "app", "validators.py"));
        var known = Regex.Matches(source, "^    \"([a-z0-9_]+)\": ", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("pos_int", known);
        var unknown = SettingsTable.All.Select(s => s.GunicornValidatorName)
            .Where(n => !known.Contains(n) && !Regex.IsMatch(n, "^callable:[0-9]$")).Distinct().ToList();
        Assert.Empty(unknown);

        var text = PrintConfig.RenderWithValidators(SettingsResolver.Resolve(["app:app"], new Dictionary<string, string?>(), null, _dir));
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(SettingsTable.All.Count, lines.Length);
        Assert.Contains("workers pos_int = 1", lines);
        Assert.Contains("bind list_string = ['127.0.0.1:8000']", lines);
        Assert.Contains("forwarded_allow_ips address_list = ['127.0.0.1', '::1']", lines);
        Assert.Contains("post_fork callable:2 = <Postfork.post_fork()>", lines);
        Assert.Contains("post_request post_request = <PostRequest.post_request()>", lines);
        Assert.Contains("errorlog string = '-'", lines);
    }

    private string RunGunicorn(params string[] args)
    {
        var info = new ProcessStartInfo(Gunicorn) { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        // Keep the environment from changing Gunicorn's defaults.
        foreach (var name in new[] { "PORT", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "SENDFILE", "GUNICORN_CMD_ARGS" })
        {
            info.Environment.Remove(name);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(30_000), "gunicorn --print-config did not finish");
        return stdout.Result;
    }

    private static Dictionary<string, string> ParseLines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(" = ", 2))
            .ToDictionary(p => p[0].Trim(), p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal);
}
