namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>A request an app host has been running for a while: what it is, for how long, and on which thread.</summary>
/// <param name="ThreadId">The pthread id of the Python thread serving it (faulthandler's "Thread 0x..."), 0 when none.</param>
/// <param name="StartedAt">Environment.TickCount64 when it started: with the thread, it names one request.</param>
public readonly record struct RunningRequest(string Method, string Uri, TimeSpan Elapsed, nuint ThreadId, long StartedAt)
{
    /// <summary>The greenlet host's id for the request, whose suspended greenlet the dump shows as "Greenlet of request N"; 0 for a thread.</summary>
    public long Greenlet { get; init; }
}
