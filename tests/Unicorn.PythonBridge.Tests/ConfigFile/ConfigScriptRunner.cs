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

    public IReadOnlyList<KeyValuePair<string, object?>> Execute(ConfigLocation location, IReadOnlySet<string> settingNames, string workingDirectory) =>
        PythonConfigFileSource.Interpret(
            Run(ConfigFileScript.Source, ConfigFileScript.FunctionName, workingDirectory,
                location.Kind == ConfigLocationKind.PythonModule ? "module" : "file", location.Target, workingDirectory,
                JsonSerializer.Serialize(settingNames.ToArray())),
            location);

    public UvicornWorkerSubclass? ReadWorkerClass(string path, IReadOnlyList<string> searchPath) =>
        PythonConfigFileSource.InterpretWorkerClass(
            Run(WorkerClassScript.Source, WorkerClassScript.FunctionName, null, path, JsonSerializer.Serialize(searchPath)), path);

    // Runs one script function with string arguments in a fresh /usr/bin/python3; its JSON answer.
    private static string Run(string source, string function, string? workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }

        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(source + "\nimport sys\nprint(" + function + "(*sys.argv[1:]))\n");
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(30_000), "python did not finish");
        Assert.True(process.ExitCode == 0, stderr.Result);
        return stdout.Result.Trim();
    }
}
