namespace Unicorn.Wsgi.Application;

/// <summary>
/// What the hub thread asks of the server: a descriptor its loop watches instead of polling, the requests
/// handed to it and the requests whose wait (a drained write, a finished body read) is over. Everything here
/// returns at once: it is called from the hub's loop, where blocking would stop every greenlet.
/// </summary>
public interface IGreenletHub
{
    /// <summary>"gevent" or "eventlet": whose hub runs the loop.</summary>
    string Library { get; }

    /// <summary>A non-blocking eventfd that becomes readable when there is something to take; the loop reads (resets) it.</summary>
    int WakeFd { get; }

    /// <summary>
    /// Acknowledges the wake-up: call before draining <see cref="TryTake"/> and <see cref="TryTakeReady"/>, so
    /// anything queued afterwards makes <see cref="WakeFd"/> readable again.
    /// </summary>
    void ClearWake();

    /// <summary>The next request to run, if any.</summary>
    bool TryTake(out IGreenletRequest request);

    /// <summary>The next request whose greenlet may stop waiting (<see cref="IGreenletRequest.Id"/>), if any.</summary>
    bool TryTakeReady(out long id);

    /// <summary>True once the worker is stopping: take what is queued, let running greenlets finish, then return.</summary>
    bool IsStopping { get; }

    /// <summary>
    /// True once the worker stops now (QUIT, INT, <c>graceful_timeout</c> over): at its stop the hub kills the
    /// greenlets still running (GreenletExit, so their <c>finally</c> blocks run) instead of waiting for them, as
    /// Gunicorn's worker ends them by exiting.
    /// </summary>
    bool IsStoppingNow { get; }

    /// <summary>The loop turned (the heartbeat's evidence that the hub is not blocked).</summary>
    void Turned();
}
