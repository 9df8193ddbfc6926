using System.Diagnostics;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Packaging;

/// <summary>
/// Once per test run: publishes the program's directory, builds the wheel (packaging/build-wheel), installs
/// it with pip (no index) into a fresh <c>--system-site-packages</c> virtualenv, and creates a Django
/// project with <c>django-admin startproject myproj</c>.
/// </summary>
public sealed class WheelFixture : IDisposable
{
    public const string SystemPython = "/usr/bin/python3";

    public WheelFixture()
    {
        Root = Directory.CreateTempSubdirectory("unicorn-wheel-").FullName;
        var dist = Path.Combine(Root, "dist");
        Wheel = Run(Path.Combine(UnicornServer.RepoRoot, "packaging", "build-wheel"), UnicornServer.RepoRoot, "--out", dist).Trim().Split('\n')[^1];
        Venv = Path.Combine(Root, "venv");
        Run(SystemPython, Root, "-m", "venv", "--system-site-packages", Venv);
        Run(Path.Combine(Venv, "bin", "pip"), Root, "install", "--no-index", "--disable-pip-version-check", "-q", Wheel);
        Project = Path.Combine(Root, "project");
        Directory.CreateDirectory(Project);
        Run(SystemPython, Root, "-m", "django", "startproject", "myproj", Project);
        File.WriteAllText(Path.Combine(Project, "whichpython.py"), """
            import sys


            def app(environ, start_response):
                body = sys.prefix.encode()
                start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
                return [body]
            """);
    }

    public string Root { get; }

    public string Wheel { get; }

    public string Venv { get; }

    /// <summary>The project made by startproject: manage.py and myproj/ live here.</summary>
    public string Project { get; }

    /// <summary>The console script pip installed.</summary>
    public string VenvUnicorn => Path.Combine(Venv, "bin", "unicorn");

    /// <summary>An environment with no hint of which Python to use: the script alone must pick the virtualenv's.</summary>
    public static Dictionary<string, string?> CleanEnvironment() => new()
    {
        ["UNICORN_PYTHON"] = null,
        ["VIRTUAL_ENV"] = null,
        ["GUNICORN_CMD_ARGS"] = null,
        ["WEB_CONCURRENCY"] = null,
        ["PYTHONPATH"] = null,
    };

    public void Dispose() => Directory.Delete(Root, recursive: true);

    public static string Run(string program, string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(15)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode}:\n{stdout}\n{stderr.Result}");
        }

        return stdout;
    }
}

[CollectionDefinition(Name)]
public sealed class WheelCollection : ICollectionFixture<WheelFixture>
{
    public const string Name = "wheel";
}
