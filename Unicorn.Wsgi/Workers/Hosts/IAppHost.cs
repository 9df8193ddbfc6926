using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>
/// How a worker class runs the app. The protocol handler hands it each parsed request with its response
/// sink; the worker starts and stops it and reads its health (heartbeat) and load (metrics). Nothing here
/// assumes OS threads: the threaded host runs each request on one of N Python threads, a greenlet host
/// would run them all on one hub thread, an asyncio host on one event loop.
/// </summary>
public interface IAppHost
{
    /// <summary>Requests that can run at the same time (Python threads for the threaded host), for the metrics gauges.</summary>
    int Capacity { get; }

    /// <summary>Requests running in the app right now.</summary>
    int Busy { get; }

    /// <summary>Requests handed over and waiting to start.</summary>
    int Queued { get; }

    /// <summary>Gets ready to run requests (threads attach to the app, a hub or loop starts). Called once, before the first request.</summary>
    void Start();

    /// <summary>
    /// Runs one request; the task completes when the response has been written, and faults only when the
    /// request could not be run at all (the bridge turns app errors into responses).
    /// </summary>
    Task RunAsync(WsgiRequest request, IResponseSink sink);

    /// <summary>
    /// Takes no more requests, lets those handed over finish and releases the app. False when that did not
    /// happen within <paramref name="timeout"/>: a request stuck in the app is not waited for.
    /// </summary>
    Task<bool> StopAsync(TimeSpan timeout);

    /// <summary>
    /// The worker is stopping now (QUIT, INT, or <c>graceful_timeout</c> over): its connections are being closed,
    /// so a host that can end the requests still running in the app, rather than wait for them, does so at its stop.
    /// </summary>
    void StopNow()
    {
    }

    /// <summary>
    /// False when the host can start no request because what runs them has been held by one request for
    /// longer than <paramref name="stuck"/> (every thread; the hub; the loop): the heartbeat stops and the
    /// master's timeout applies.
    /// </summary>
    bool IsResponsive(TimeSpan stuck);

    /// <summary>
    /// For a host whose threads each run one request (sync, gthread): null while a thread is free, else when the
    /// last free one took its request (<see cref="Environment.TickCount64"/>). The heartbeat then carries that time,
    /// so the master's timeout runs from when the worker stopped being able to serve, as Gunicorn's sync worker's
    /// heartbeat does. Hosts that cannot tell answer null and are judged by <see cref="IsResponsive"/>.
    /// </summary>
    long? AllBusySince() => null;

    /// <summary>
    /// The requests running longer than <paramref name="limit"/> (max_request_time), with the thread serving
    /// each, so the worker can log that thread's Python stack. A host that cannot tell reports none.
    /// </summary>
    IReadOnlyList<RunningRequest> RunningLongerThan(TimeSpan limit) => [];

    /// <summary>
    /// The worker is being aborted (the master's timeout): answers each request the app still holds whose response
    /// has not begun with a 500 (<see cref="IResponseSink.TryAnswerAbortedRequest"/>), as Gunicorn 26.1's sync worker
    /// answers from the <c>SystemExit</c> its ABRT handler raises in the app. Returns those it answered. A host
    /// whose requests never stop the heartbeat (their threads are not all held) answers none.
    /// </summary>
    IReadOnlyList<(RunningRequest Running, WsgiRequest Request)> AnswerAbortedRequests() => [];

    /// <summary>
    /// Asks the host to accept connections itself on its idle thread, and to run a request inline when that
    /// thread's accepted connection hands it one (<see cref="IIdleAcceptor"/>). Called before <see cref="Start"/>;
    /// false (the default) leaves accepting to the worker's async accept loops.
    /// </summary>
    bool AcceptWhenIdle(IIdleAcceptor acceptor) => false;
}
