using System.Diagnostics;
using Unicorn.Wsgi.Config;

namespace Unicorn.PythonBridge.Tests.ConfigFile;

public sealed class ExampleConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-example-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string ExamplePath
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "gunicorn.conf.py.example");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new InvalidOperationException("gunicorn.conf.py.example not found above " + AppContext.BaseDirectory);
        }
    }

    [Fact]
    public void The_example_resolves_with_every_server_hook_defined()
    {
        var env = new Dictionary<string, string?>();
        var s = SettingsResolver.Resolve(["-c", ExamplePath, "app:app"], env, new ConfigScriptRunner(), _dir);
        Assert.Equal(["127.0.0.1:8000"], s.Bind);
        Assert.Equal("sync", s.WorkerClass);
        Assert.Equal(18, s.Umask);
        Assert.Equal("-", s.Get<string?>("accesslog"));
        // ssl_context is left out of the example on purpose: Unicorn refuses it once TLS is on.
        foreach (var hook in SettingsTable.Hooks.Where(h => h.Supported && h.Name != "ssl_context"))
        {
            Assert.Equal(HookOrigin.ConfigFile, s.Get<HookReference>(hook.Name).Origin);
        }
    }

    [Fact]
    public async Task Gunicorn_accepts_the_example_too()
    {
        const string gunicorn = "/usr/bin/gunicorn";
        Assert.True(File.Exists(gunicorn), $"{gunicorn} is missing: apt-get install -y gunicorn");
        File.WriteAllText(Path.Combine(_dir, "exampleapp.py"), "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'']\n");
        var info = new ProcessStartInfo(gunicorn) { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "--check-config", "-c", ExamplePath, "exampleapp:app" })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment.Remove("GUNICORN_CMD_ARGS");
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(cts.Token);
        Assert.True(process.ExitCode == 0, await stderr);
    }
}
