namespace Unicorn.Wsgi.Application;

/// <summary>A running ASGI event loop: requests go in from any thread, without taking the GIL on the caller's side.</summary>
public interface IAsgiLoop
{
    /// <summary>
    /// Runs one request as an http scope; completes once the response is complete (or the app gave up on it),
    /// faulting only when the request could not be run at all.
    /// </summary>
    Task RunAsync(WsgiRequest request, IResponseSink sink);

    /// <summary>Runs lifespan shutdown and stops the loop; false when that did not finish within <paramref name="timeout"/>.</summary>
    Task<bool> StopAsync(TimeSpan timeout);

    /// <summary>
    /// The worker's graceful deadline has come: every task still running (a response that never ends, a long poll)
    /// hears http.disconnect and is cancelled, so that <see cref="StopAsync"/> can run lifespan shutdown in time.
    /// </summary>
    void StopNow()
    {
    }

    /// <summary>False when work waits for the loop and the loop has not turned for longer than <paramref name="stuck"/>.</summary>
    bool IsResponsive(TimeSpan stuck);

    /// <summary>
    /// The http scopes whose app task has run longer than <paramref name="limit"/> (max_request_time); accepted
    /// websockets are not requests in this sense and are left out.
    /// </summary>
    IReadOnlyList<AsgiRunningTask> RunningLongerThan(TimeSpan limit);
}
