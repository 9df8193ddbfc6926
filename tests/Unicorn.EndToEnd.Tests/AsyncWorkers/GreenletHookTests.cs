using System.Diagnostics;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.AsyncWorkers;

/// <summary>
/// pre_request, post_request and --spew under -k gevent and -k eventlet: the hooks run in the request's greenlet, as
/// in Gunicorn's async workers, so a hook that waits (a patched time.sleep, a database call) holds only its request.
/// </summary>
public sealed class GreenletHookTests
{
    private const string App = "pyfixtures.greenlet_apps:app";

    // Hook bodies as users write them: log the request, time it, look at environ and the response.
    private const string Hooks = """
        import time

        def pre_request(worker, req):
            req.started = time.time()
            worker.log.info("pre_request %s %s pid=%s" % (req.method, req.path, worker.pid))
            if req.path == "/sleep":
                time.sleep(1)  # patched: yields to the other greenlets

        def post_request(worker, req, environ, resp):
            worker.log.info("post_request %s %s path_info=%s sent=%s" % (req.path, resp.status, environ["PATH_INFO"], resp.sent))
        """;

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public void Pre_and_post_request_run_around_each_request(string workerClass)
    {
        using var config = new TempConfig(Hooks);
        using var server = Start(workerClass, out var port, "-c", config.Path);

        var (status, body) = UnicornServer.Get(port, "/", 30);

        Assert.Equal(200, status);
        Assert.Equal("hello\n", body);
        server.WaitForLog("pre_request GET / pid=" + server.Workers().Single());
        server.WaitForLog("post_request / 200 OK path_info=/ sent=6");
    }

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public async Task A_hook_that_waits_holds_only_its_own_request(string workerClass)
    {
        using var config = new TempConfig(Hooks);
        using var server = Start(workerClass, out var port, "-c", config.Path);

        // Fifty requests whose pre_request sleeps one second, plus the app's own 0.5 s: one after another that is
        // 75 s; in their greenlets they overlap.
        var clock = Stopwatch.StartNew();
        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => UnicornServer.Get(port, "/sleep?0.5", 120))));
        clock.Stop();

        Assert.All(results, r => Assert.Equal(200, r.Status));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(40), $"took {clock.Elapsed}");
        server.WaitForLog("post_request /sleep 200 OK path_info=/sleep sent=6", 50);
    }

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public void A_pre_request_that_raises_is_a_500_and_the_worker_goes_on(string workerClass)
    {
        using var config = new TempConfig("""
            def pre_request(worker, req):
                if req.path == "/refused":
                    raise ValueError("no entry")

            def post_request(worker, req, environ, resp):
                raise KeyError("broken post_request")
            """);
        using var server = Start(workerClass, out var port, "-c", config.Path);

        Assert.Equal(500, UnicornServer.Get(port, "/refused", 30).Status);
        server.WaitForLog("Exception in pre_request hook");
        Assert.Contains(server.Lines, l => l.Contains("ValueError: no entry", StringComparison.Ordinal));

        // post_request raising is only logged: the response has gone already.
        Assert.Equal((200, "hello\n"), UnicornServer.Get(port, "/", 30));
        server.WaitForLog("Exception in post_request hook");
        Assert.Contains(server.Lines, l => l.Contains("KeyError: 'broken post_request'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public void Spew_traces_the_app_run_in_a_greenlet(string workerClass)
    {
        using var server = Start(workerClass, out var port, "--spew");

        Assert.Equal((200, "hello\n"), UnicornServer.Get(port, "/", 60));
        // The app's own line, traced on the hub's thread while its greenlet ran it.
        server.WaitForLog("pyfixtures.greenlet_apps:", 1, 60);
        Assert.Contains(server.Lines, l => l.Contains("if path == \"/\":", StringComparison.Ordinal));
    }

    private static UnicornServer Start(string workerClass, out int port, params string[] extra)
    {
        port = UnicornServer.FreePort();
        var server = UnicornServer.Start([App, "-b", $"127.0.0.1:{port}", "-w", "1", "-k", workerClass, "--no-control-socket", .. extra]);
        try
        {
            server.WaitUntilServing(port, 120);
        }
        catch
        {
            server.Dispose(); // the caller's using never sees it
            throw;
        }

        return server;
    }

    private sealed class TempConfig : IDisposable
    {
        private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("unicorn-greenlet-hooks-");

        public TempConfig(string source)
        {
            Path = System.IO.Path.Combine(_dir.FullName, "gunicorn.conf.py");
            File.WriteAllText(Path, source);
        }

        public string Path { get; }

        public void Dispose() => _dir.Delete(true);
    }
}
