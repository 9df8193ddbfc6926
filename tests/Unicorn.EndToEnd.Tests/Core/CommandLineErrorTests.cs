using System.Diagnostics;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Core;

/// <summary>Bad input on the command line: one clear line on stderr and a non-zero exit.</summary>
public sealed class CommandLineErrorTests
{
    private static (int Code, string Stdout, string Stderr) Run(IDictionary<string, string>? env, params string[] args)
    {
        var info = new ProcessStartInfo(Path.Combine(UnicornServer.RepoRoot, "unicorn"))
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["UNICORN_PYTHON"] = "/usr/bin/python3";
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            info.Environment[k] = v;
        }

        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), "unicorn did not exit");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void An_unknown_flag_is_a_usage_error_with_exit_2()
    {
        var (code, _, stderr) = Run(null, "--no-such-flag", "pyfixtures.hello:app");
        Assert.Equal(2, code);
        Assert.Contains("unrecognized arguments: --no-such-flag", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_libpython_is_one_line_and_exit_1()
    {
        var (code, _, stderr) = Run(new Dictionary<string, string> { ["UNICORN_PYTHON"] = "/nonexistent/libpython3.11.so" }, "pyfixtures.hello:app", "-b", "127.0.0.1:0");
        Assert.Equal(1, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("/nonexistent/libpython3.11.so", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_module_that_does_not_exist_names_the_module_and_exits_non_zero()
    {
        var (code, _, stderr) = Run(null, "--chdir", UnicornServer.RepoRoot, "no_such_module_here:app", "-b", $"127.0.0.1:{UnicornServer.FreePort()}");
        Assert.NotEqual(0, code);
        Assert.Contains("No module named 'no_such_module_here'", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at Unicorn.", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_attribute_names_it_and_exits_non_zero()
    {
        var (code, _, stderr) = Run(null, "--chdir", UnicornServer.RepoRoot, "pyfixtures.hello:nope", "-b", $"127.0.0.1:{UnicornServer.FreePort()}");
        Assert.NotEqual(0, code);
        Assert.Contains("Failed to find attribute 'nope' in 'pyfixtures.hello'.", stderr, StringComparison.Ordinal);
    }
}
