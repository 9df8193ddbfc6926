namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>A request an app host has been running for a while: what it is, for how long, and on which thread.</summary>
/// <param name="ThreadId">The pthread id of the Python thread serving it (faulthandler's "Thread 0x..."), 0 when none.</param>
/// <param name="StartedAt">Environment.TickCount64 when it started: with the thread and <see cref="Id"/>, it names one request.</param>
public readonly record struct RunningRequest(string Method, string Uri, TimeSpan Elapsed, nuint ThreadId, long StartedAt)
{
    public const string Thread = "thread";
    public const string Greenlet = "greenlet";
    public const string Task = "task";

    /// <summary>
    /// Tells requests apart that share a thread: the greenlet host's request id (the greenlet dump labels its
    /// suspended greenlet "Greenlet of request N"), or an event loop's task's; 0 for a thread of its own.
    /// </summary>
    public long Id { get; init; }

    /// <summary>
    /// What serves it, for the log line and for finding its stack: <see cref="Thread"/>, <see cref="Greenlet"/>
    /// (the hub thread's, found by <see cref="Id"/> in the greenlet dump), or <see cref="Task"/> (an asyncio task,
    /// no thread of its own).
    /// </summary>
    public string ServedBy { get; init; } = Thread;

    /// <summary>Reads the stack of what serves it, when a thread dump cannot show it (a suspended task); null: the thread's.</summary>
    public Func<string>? Stack { get; init; }
}
