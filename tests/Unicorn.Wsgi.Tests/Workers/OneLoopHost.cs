using System.Collections.Concurrent;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Workers.Hosts;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// An app host shaped like a greenlet hub or an event loop: every request runs on one thread, whatever
/// the number of connections. Proves the worker needs no thread per request from its host.
/// </summary>
internal sealed class OneLoopHost(IWsgiApplication app, int capacity) : IAppHost
{
    private readonly BlockingCollection<(WsgiRequest Request, IResponseSink Sink, TaskCompletionSource Done)> _queue = [];
    private Thread? _loop;
    private int _busy;

    public int Capacity => capacity;

    public int Busy => Volatile.Read(ref _busy);

    public int Queued => _queue.Count;

    public int StartCalls;

    public int StopCalls;

    public ConcurrentBag<int> RequestThreads { get; } = [];

    public int LoopThreadId => _loop?.ManagedThreadId ?? -1;

    public void Start()
    {
        Interlocked.Increment(ref StartCalls);
        _loop = new Thread(Run) { IsBackground = true, Name = "one-loop-host" };
        _loop.Start();
    }

    public Task RunAsync(WsgiRequest request, IResponseSink sink)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Add((request, sink, done));
        return done.Task;
    }

    public Task<bool> StopAsync(TimeSpan timeout)
    {
        Interlocked.Increment(ref StopCalls);
        _queue.CompleteAdding();
        return Task.Run(() => _loop!.Join(timeout));
    }

    public bool IsResponsive(TimeSpan stuck) => true;

    private void Run()
    {
        using var handler = app.AttachThread();
        foreach (var (request, sink, done) in _queue.GetConsumingEnumerable())
        {
            Interlocked.Increment(ref _busy);
            RequestThreads.Add(Environment.CurrentManagedThreadId);
            handler.Invoke(request, sink);
            Interlocked.Decrement(ref _busy);
            done.TrySetResult();
        }
    }
}
