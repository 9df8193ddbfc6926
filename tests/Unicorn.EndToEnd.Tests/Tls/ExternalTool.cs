using System.Diagnostics;

namespace Unicorn.EndToEnd.Tests.Tls;

/// <summary>Runs curl, openssl or gunicorn to completion and returns what it printed (a test's client side).</summary>
internal static class ExternalTool
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string All => Stdout + "\n" + Stderr;
    }

    public static Result Run(string file, IEnumerable<string> args, string? stdin = null, double timeoutSeconds = 30, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
        }

        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeoutSeconds}s");
        }

        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>curl with the options every test wants (silent, bounded, errors shown).</summary>
    public static Result Curl(params string[] args) => Run("curl", ["-sS", "--max-time", "20", .. args]);
}
