using System.Collections.Concurrent;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// worker_spares: a parked spare runs synthetic requests through a worker of its own (<see cref="Worker.WarmUp"/>)
/// over socketpairs, to the app it is given (the bridge's own in a real spare), so the request path is compiled
/// before promotion. Every request is answered and reaches that app, and nothing is left running.
/// </summary>
public class SyntheticWarmUpTests
{
    [Theory]
    [InlineData("sync", 1)]
    [InlineData("gthread", 4)]
    public void Synthetic_connections_are_served_through_the_pipeline_to_the_given_app(string workerClass, int threads)
    {
        var settings = TestSettings.Defaults();
        settings.Set("worker_class", workerClass);
        settings.Set("threads", threads);
        var seen = new ConcurrentQueue<string>();
        var app = new FakeApp((request, response) =>
        {
            seen.Enqueue($"{request.Method} {request.Path} {FakeApp.ReadBody(request.Body)}");
            FakeApp.Ok(request, response);
        });

        var answered = Worker.WarmUp(settings, new WsgiOnlyApp(app), new StderrErrorLog(LogLevel.Debug, TextWriter.Null), connections: 4);

        Assert.Equal(12, answered);
        Assert.Equal(12, seen.Count);
        Assert.Equal(4, seen.Count(s => s == "POST /warm-up hello"));
        Assert.Equal(8, seen.Count(s => s == "GET /warm-up "));
    }

    [Fact]
    public void Workers_that_do_not_serve_HTTP_1_1_on_a_thread_pool_run_none()
    {
        var settings = TestSettings.Defaults();
        settings.Set("protocol", "uwsgi");
        var calls = 0;
        var app = new FakeApp((request, response) =>
        {
            Interlocked.Increment(ref calls);
            FakeApp.Ok(request, response);
        });

        Assert.Equal(0, Worker.WarmUp(settings, new WsgiOnlyApp(app), new StderrErrorLog(LogLevel.Debug, TextWriter.Null), connections: 4));
        Assert.Equal(0, calls);
    }
}
