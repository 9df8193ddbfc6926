using Unicorn.EndToEnd.Tests.Arbiter;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Reload;

/// <summary>
/// --reload on a temporary copy of an app: a changed module is served by a new worker, a syntax error is
/// logged while the old worker keeps serving, and fixing it reloads.
/// </summary>
public sealed class ReloadTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-reload-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("poll")]
    [InlineData("inotify")]
    public void ChangedModuleIsServedAndASyntaxErrorKeepsTheOldCode(string engine)
    {
        WriteApp("first version");
        var port = FreePort();
        using var server = Start("--chdir", _dir, "-b", $"127.0.0.1:{port}", "--reload", "--reload-engine", engine, "reloadapp:app");
        server.WaitUntilServing(port);
        Assert.Equal("first version", Get(port, "/").Body);
        server.WaitForLog("[WARNING] Reloader is on. Use in development only!");

        WriteApp("second, longer version");
        WaitForBody(server, port, "second, longer version");
        server.WaitForLog($"Worker reloading: {Path.Combine(_dir, "reloadapp.py")} modified");

        Save("def app(environ, start_response:\n    pass\n");
        server.WaitForLog("has a syntax error");
        Assert.Contains("SyntaxError", server.Log, StringComparison.Ordinal);
        // Give a wrongful restart time to happen: the old code must still answer.
        Thread.Sleep(2500);
        Assert.Equal("second, longer version", Get(port, "/").Body);
        Assert.Equal(1, server.Count("Worker reloading:"));

        WriteApp("third version, fixed");
        WaitForBody(server, port, "third version, fixed");
        server.WaitForLog("Worker reloading:", times: 2); // the log reader may trail the new worker's answer
        Assert.Equal(2, server.Count("Worker reloading:"));
    }

    [Theory]
    [InlineData("sync")]
    [InlineData("gevent")]
    public void AnAppWithASyntaxErrorAtStartServesItsTracebackUntilItIsFixed(string workerClass)
    {
        // Gunicorn's worker under --reload: the traceback as a 500, the file watched. The worker used to fail to boot,
        // which stopped the server.
        Save("def app(environ, start_response)\n    return []\n");
        var port = FreePort();
        using var server = Start("--chdir", _dir, "-b", $"127.0.0.1:{port}", "--reload", "-k", workerClass, "reloadapp:app");
        Assert.True(Poll(() => TryGet(port, "/") is not null, 60), server.Log);
        var (status, body) = Get(port, "/");
        Assert.Equal(500, status);
        Assert.Contains("SyntaxError", body, StringComparison.Ordinal);
        server.WaitForLog("SyntaxError");

        WriteApp("fixed at last");
        WaitForBody(server, port, "fixed at last");
    }

    [Fact]
    public void ExtraFileGlobTriggersReload()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "conf"));
        File.WriteAllText(Path.Combine(_dir, "conf", "greeting.txt"), "hello");
        File.WriteAllText(Path.Combine(_dir, "reloadapp.py"), """
            import os

            with open(os.path.join(os.path.dirname(__file__), "conf", "greeting.txt")) as f:
                GREETING = f.read().encode()


            def app(environ, start_response):
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [GREETING]
            """);
        var port = FreePort();
        var metricsPort = FreePort();
        using var server = Start("--chdir", _dir, "-b", $"127.0.0.1:{port}", "--reload", "--reload-extra-file", "conf/*.txt",
            "--metrics-bind", $"127.0.0.1:{metricsPort}", "reloadapp:app");
        server.WaitUntilServing(port);
        Assert.Equal("hello", Get(port, "/").Body);

        File.WriteAllText(Path.Combine(_dir, "conf", "greeting.txt"), "hello again");
        WaitForBody(server, port, "hello again");
        server.WaitForLog($"Worker reloading: {Path.Combine(_dir, "conf", "greeting.txt")} modified");
        // The replaced worker is counted as a code reload, not as a max_requests retirement.
        Assert.True(Poll(() => Get(metricsPort, "/metrics").Body.Contains("unicorn_worker_restarts_total{cause=\"code_reload\"} 1", StringComparison.Ordinal), 60),
            Get(metricsPort, "/metrics").Body);
    }

    [Fact]
    public void UnknownReloadEngineIsRefused()
    {
        var port = FreePort();
        using var server = Start("-b", $"127.0.0.1:{port}", "--reload", "--reload-engine", "watchdog", "pyfixtures.hello:app");
        Assert.NotEqual(0, server.WaitForExit());
        Assert.Contains("reload-engine", server.Log, StringComparison.Ordinal);
    }

    private void WriteApp(string text) =>
        // Each version differs in length: Python trusts a cached .pyc whose source has the same size and mtime second.
        Save($$"""
            def app(environ, start_response):
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"{{text}}"]
            """);

    /// <summary>
    /// Saves as editors do, by renaming a written file over the module: an in-place write on a loaded machine
    /// can be seen empty between truncate and write, and an empty module compiles.
    /// </summary>
    private void Save(string source)
    {
        var temp = Path.Combine(_dir, "reloadapp.py.tmp");
        File.WriteAllText(temp, source);
        File.Move(temp, Path.Combine(_dir, "reloadapp.py"), overwrite: true);
    }

    private static void WaitForBody(UnicornServer server, int port, string body)
    {
        if (!Poll(() => TryBody(port) == body, 30))
        {
            throw new TimeoutException($"never served '{body}' (last: '{TryBody(port)}'); log:\n{server.Log}");
        }
    }

    private static string? TryBody(int port)
    {
        try
        {
            return Get(port, "/", 5).Body;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            return null;
        }
    }
}
