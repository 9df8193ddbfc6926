using Unicorn.Wsgi.Workers.Hosts;

namespace Unicorn.Wsgi.Workers;

/// <summary>The worker's side of an <see cref="IIdleAcceptor"/> (<see cref="IdleAcceptor"/>, <see cref="ThreadedAcceptor"/>): start, gate and stop.</summary>
internal interface IWorkerAcceptor : IIdleAcceptor, IDisposable
{
    /// <summary>Completes once accepting has stopped and no thread is waiting on the listeners, so they may be closed.</summary>
    Task Completion { get; }

    /// <summary>Called once the host has taken it, before the host starts. <paramref name="held"/>: accept nothing until <see cref="Open"/>.</summary>
    void Start(bool held = false);

    /// <summary>Ends the hold: safe on any thread, and more than once.</summary>
    void Open();
}
