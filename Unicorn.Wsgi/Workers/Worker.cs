// PLACEHOLDER — the lead's Worker (branch `lead`) replaces this file when it reaches main. It exists
// only so WorkerProcess compiles against the agreed contract; it serves nothing.
using System.Net.Sockets;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers;

public sealed class Worker
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Worker(Settings settings, IReadOnlyList<Socket> listeners, IWsgiApplication app, IErrorLog log)
    {
        _ = (settings, listeners, app, log);
    }

    public event Action? MaxRequestsReached;

    public long RequestCount => 0;

    public Task RunAsync() => _done.Task;

    public void BeginGracefulStop() => _done.TrySetResult();

    public void StopNow() => _done.TrySetResult();

    public bool IsResponsive(TimeSpan timeout) => MaxRequestsReached is null || timeout > TimeSpan.Zero;
}
