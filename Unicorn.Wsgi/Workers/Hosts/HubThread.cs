using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>
/// The one OS thread a greenlet worker's Python runs on, from <c>post_fork</c> on: the hooks and the app's import run
/// here (<see cref="Invoke{T}"/>), then the hub (<see cref="Become"/>). gevent's and eventlet's hubs are per thread, so a
/// greenlet, or a monkey-patched thread, that the app or a hook starts (a QueueListener, an exporter's sender) belongs to
/// this thread's hub, and runs once the hub does, as in Gunicorn's worker, whose main thread does all of it.
/// </summary>
public sealed class HubThread
{
    private readonly BlockingCollection<Action> _work = [];

    public HubThread()
    {
        new Thread(() =>
        {
            foreach (var work in _work.GetConsumingEnumerable())
            {
                work();
            }
        })
        { IsBackground = true, Name = "unicorn-hub" }.Start();
    }

    /// <summary>Runs <paramref name="work"/> on this thread and waits for it; its exception is rethrown here.</summary>
    public T Invoke<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        using var done = new ManualResetEventSlim();
        _work.Add(() =>
        {
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                done.Set();
            }
        });
        done.Wait();
        failure?.Throw();
        return result;
    }

    public void Invoke(Action work) => Invoke(() =>
    {
        work();
        return 0;
    });

    /// <summary>Hands the thread to <paramref name="run"/> (the hub's loop), which it runs until it returns, then ends.</summary>
    public void Become(Action run)
    {
        _work.Add(run);
        _work.CompleteAdding();
    }
}
