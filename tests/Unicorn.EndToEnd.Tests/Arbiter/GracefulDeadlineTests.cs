using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>
/// A response that never ends (server-sent events, a live feed) cannot finish within graceful_timeout. The worker
/// takes its own deadline a little before the master's SIGKILL: it ends what is still running (an asgi task is
/// cancelled, a WSGI generator closed), runs lifespan shutdown and worker_exit, and exits by itself. Gunicorn 26.1's
/// master kills such a worker at graceful_timeout, before any of that runs.
/// </summary>
public sealed class GracefulDeadlineTests
{
    private const int SigTerm = 15;

    [Theory]
    [InlineData("asgi", "endless_stream:app", "app: stream cancelled")]
    [InlineData("sync", "endless_stream_wsgi:app", "app: stream closed")]
    [InlineData("gthread", "endless_stream_wsgi:app", "app: stream closed")]
    [InlineData("gevent", "endless_stream_wsgi:app", "app: stream closed")]
    public async Task An_endless_response_is_ended_by_the_worker_before_the_masters_kill(string workerClass, string app, string ended)
    {
        var port = UnicornServer.FreePort();
        var chdir = workerClass == "asgi" ? "pyfixtures/asgi" : "pyfixtures";
        using var server = UnicornServer.Start(app, "--chdir", chdir, "-c", Path.Combine(UnicornServer.RepoRoot, "pyfixtures", "worker_exit_conf.py"),
            "-k", workerClass, "-w", "1", "--graceful-timeout", "3", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/ping");
        var worker = Assert.Single(server.Workers());

        using var client = new TcpClient("127.0.0.1", port);
        var stream = client.GetStream();
        stream.Write(Encoding.ASCII.GetBytes("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
        // Read on, as a browser's EventSource does, so that the worker's writes never wait for the client.
        var received = new MemoryStream();
        var reader = Task.Run(() =>
        {
            var buffer = new byte[4096];
            try
            {
                for (int n; (n = stream.Read(buffer)) > 0;)
                {
                    lock (received)
                    {
                        received.Write(buffer, 0, n);
                    }
                }
            }
            catch (IOException)
            {
            }
        });
        Assert.True(UnicornServer.Poll(() => { lock (received) { return Encoding.ASCII.GetString(received.ToArray()).Contains("data: 2", StringComparison.Ordinal); } }, 15),
            "the stream did not start\n" + server.Log);

        var since = Stopwatch.StartNew();
        server.Signal(SigTerm);
        Assert.Equal(0, server.WaitForExit(30));
        var took = since.Elapsed;

        var log = server.Log;
        Assert.DoesNotContain("SIGKILL", log, StringComparison.Ordinal);
        Assert.Contains(ended, log, StringComparison.Ordinal);
        Assert.Contains($"hook: worker_exit {worker}", log, StringComparison.Ordinal);
        Assert.Contains($"Worker exiting (pid: {worker})", log, StringComparison.Ordinal);
        if (workerClass == "asgi")
        {
            Assert.Contains("app: lifespan shutdown", log, StringComparison.Ordinal);
        }

        // The worker's own deadline (2.25 s here), not the master's kill at 3 s: the stream is not let run for the whole
        // graceful_timeout, and no SIGKILL line above. The master's exit after it reaps the worker adds its own delay,
        // up to 0.75 s on a loaded CI machine, so the upper bound is the kill's time plus a second.
        Assert.True(took > TimeSpan.FromSeconds(1.5) && took < TimeSpan.FromSeconds(4), $"{workerClass}: the stop took {took}\n{log}");
        await reader.WaitAsync(TimeSpan.FromSeconds(10)); // the connection was closed
    }
}
