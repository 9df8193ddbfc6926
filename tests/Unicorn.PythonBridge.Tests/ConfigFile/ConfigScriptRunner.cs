using System.Diagnostics;
using System.Text.Json;
using Unicorn.PythonBridge.ConfigFile;
using Unicorn.Wsgi.Config;

namespace Unicorn.PythonBridge.Tests.ConfigFile;

/// <summary>
/// Runs the config-reading script in a separate /usr/bin/python3 and interprets its answer exactly as the in-process
/// executor does, so the Python half is tested without starting an interpreter in the test process.
/// </summary>
internal sealed class ConfigScriptRunner : IConfigFileSource
{
    private static string Python => Environment.GetEnvironmentVariable("UNICORN_PYTHON") is { Length: > 0 } p && !p.EndsWith(".so", StringComparison.Ordinal) && !p.Contains(".so.", StringComparison.Ordinal)
        ? p
        : "/usr/bin/python3";

    public IReadOnlyList<KeyValuePair<string, object?>> Execute(ConfigLocation location, IReadOnlySet<string> settingNames, string workingDirectory)
    {
        var info = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(ConfigFileScript.Source + "\nimport sys\nprint(" + ConfigFileScript.FunctionName + "(*sys.argv[1:]))\n");
        info.ArgumentList.Add(location.Kind == ConfigLocationKind.PythonModule ? "module" : "file");
        info.ArgumentList.Add(location.Target);
        info.ArgumentList.Add(workingDirectory);
        info.ArgumentList.Add(JsonSerializer.Serialize(settingNames.ToArray()));
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(30_000), "python did not finish");
        Assert.True(process.ExitCode == 0, stderr.Result);
        return PythonConfigFileSource.Interpret(stdout.Result.Trim(), location);
    }

    public UvicornWorkerSubclass? ReadWorkerClass(string path, IReadOnlyList<string> searchPath)
    {
        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(WorkerClassScript.Source + "\nimport sys\nprint(" + WorkerClassScript.FunctionName + "(*sys.argv[1:]))\n");
        info.ArgumentList.Add(path);
        info.ArgumentList.Add(JsonSerializer.Serialize(searchPath));
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(30_000), "python did not finish");
        Assert.True(process.ExitCode == 0, stderr.Result);
        return PythonConfigFileSource.InterpretWorkerClass(stdout.Result.Trim(), path);
    }
}
