namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>A request an app host has been running for a while: what it is, for how long, and on which thread.</summary>
/// <param name="ThreadId">The pthread id of the Python thread serving it (faulthandler's "Thread 0x..."), 0 when none.</param>
/// <param name="StartedAt">Environment.TickCount64 when it started: with the thread, it names one request.</param>
public readonly record struct RunningRequest(string Method, string Uri, TimeSpan Elapsed, nuint ThreadId, long StartedAt)
{
    /// <summary>The greenlet host's id for the request, whose suspended greenlet the dump shows as "Greenlet of request N"; 0 for a thread.</summary>
    public long Greenlet { get; init; }

    /// <summary>Tells requests apart that share a thread and a start (the tasks of one event loop); 0 for threads.</summary>
    public long Id { get; init; }

    /// <summary>
    /// What serves it, for the log line ("thread", or "task" for an asyncio task that is no thread of its own).
    /// </summary>
    public string ServedBy { get; init; } = "thread";

    /// <summary>Reads the stack of what serves it, when a thread dump cannot show it (a suspended task); null: the thread's.</summary>
    public Func<string>? Stack { get; init; }
}
