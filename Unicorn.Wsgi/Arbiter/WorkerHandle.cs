using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>The master's record of one live worker process.</summary>
internal sealed class WorkerHandle(int pid, int age, WorkerHeartbeat heartbeat, int generation = 0, int metricsSlot = -1) : IDisposable
{
    public int Pid { get; } = pid;

    public int Age { get; } = age;

    public WorkerHeartbeat Heartbeat { get; } = heartbeat;

    /// <summary>When the master spawned it, or promoted it from spare (Stopwatch timestamp): its boot allowance counts from here.</summary>
    public long SpawnedAt { get; set; } = WorkerHeartbeat.Now;

    /// <summary>How many HUP reloads the master had done when it spawned this worker.</summary>
    public int Generation { get; } = generation;

    /// <summary>Its slot in the metrics file (-1: none).</summary>
    public int MetricsSlot { get; } = metricsSlot;

    /// <summary>Why the master stopped it (timeout, reload, scale_down, max_requests...), for the restart metric.</summary>
    public string? StopCause { get; set; }

    /// <summary>
    /// Set when the master decided to replace it (max_worker_rss): it keeps serving, seen as retiring, until
    /// its replacement is ready, then gets a graceful stop.
    /// </summary>
    public bool Recycling { get; set; }

    /// <summary>Set when SIGABRT was sent for a timeout; the next check sends SIGKILL.</summary>
    public long? AbortedAt { get; set; }

    /// <summary>Set when the master sent TERM/QUIT to stop it.</summary>
    public long? StopSentAt { get; set; }

    /// <summary>Set when the master's own stop outlasted graceful_timeout and it sent SIGKILL: an end it chose, which
    /// Gunicorn's master does not log (its "Perhaps out of memory?" is for a SIGKILL from elsewhere).</summary>
    public bool KilledAtStop { get; set; }

    public WorkerInfo Info => new(Pid, Age);

    public WorkerSnapshot Snapshot()
    {
        WorkerState state;
        try
        {
            state = Heartbeat.Read().State;
        }
        catch (IOException)
        {
            state = WorkerState.Booting;
        }

        return new WorkerSnapshot(Pid, Age, Recycling && state == WorkerState.Ready ? WorkerState.Retiring : state, StopSentAt is not null);
    }

    /// <summary>The restart metric's cause for a worker that asked to be replaced.</summary>
    public string RetireCauseName()
    {
        RetireCause cause;
        try
        {
            cause = Heartbeat.ReadCause();
        }
        catch (IOException)
        {
            cause = RetireCause.MaxRequests;
        }

        return cause switch
        {
            RetireCause.MaxRequestTime => "max_request_time",
            RetireCause.CodeReload => "code_reload",
            _ => "max_requests",
        };
    }

    public void Dispose() => Heartbeat.Dispose();
}
