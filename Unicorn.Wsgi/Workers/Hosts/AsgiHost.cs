using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>
/// The asgi worker class's host: hands each request to the app's event loop, which runs all of them on one
/// Python thread. Capacity is worker_connections, which the accept loop already bounds.
/// </summary>
internal sealed class AsgiHost(IAsgiLoop loop, int capacity) : IAppHost
{
    private int _busy;

    public int Capacity => capacity;

    public int Busy => Volatile.Read(ref _busy);

    // The loop takes every request as it arrives: nothing waits for a thread.
    public int Queued => 0;

    // The loop and lifespan startup began in AsgiHostFactory.Create, while the worker booted.
    public void Start()
    {
    }

    public async Task RunAsync(WsgiRequest request, IResponseSink sink)
    {
        Interlocked.Increment(ref _busy);
        try
        {
            await loop.RunAsync(request, sink).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _busy);
        }
    }

    public Task<bool> StopAsync(TimeSpan timeout) => loop.StopAsync(timeout);

    public void StopNow() => loop.StopNow();

    public bool IsResponsive(TimeSpan stuck) => loop.IsResponsive(stuck);

    // Every task runs on the loop's one thread, so a thread dump cannot tell them apart: each brings its own stack.
    public IReadOnlyList<RunningRequest> RunningLongerThan(TimeSpan limit)
    {
        var now = Environment.TickCount64;
        return [.. loop.RunningLongerThan(limit).Select(t => new RunningRequest(t.Method, t.Uri, TimeSpan.FromMilliseconds(now - t.StartedAt), 0, t.StartedAt)
        {
            Id = t.Id,
            ServedBy = RunningRequest.Task,
            Stack = t.Stack,
        })];
    }
}
