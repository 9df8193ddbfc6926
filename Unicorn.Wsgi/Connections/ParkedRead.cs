using System.Threading.Tasks.Sources;

namespace Unicorn.Wsgi.Connections;

/// <summary>
/// One connection's wait for its next bytes in an <see cref="IReadyWaiter"/>'s loop; reused for every wait of
/// the connection, so a keep-alive request allocates nothing for it. The first completion wins (readable,
/// deadline, eviction and release can race); its continuation runs on the completing thread.
/// </summary>
internal sealed class ParkedRead : IValueTaskSource<ParkOutcome>
{
    private ManualResetValueTaskSourceCore<ParkOutcome> _core; // continuations run inline: that is the point
    private int _completed = 1;

    /// <summary>The socket's descriptor while parked.</summary>
    public int Fd { get; private set; } = -1;

    /// <summary>When the wait ends unanswered (<see cref="Environment.TickCount64"/>).</summary>
    public long Deadline { get; private set; }

    /// <summary>Whether <see cref="Fd"/> has been added to the waiter's epoll set (later waits re-arm it).</summary>
    public bool Registered { get; set; }

    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    /// <summary>Starts a new wait; the previous one must have completed and been awaited.</summary>
    public ValueTask<ParkOutcome> Start(int fd, long deadline)
    {
        if (fd != Fd)
        {
            Registered = false;
        }

        Fd = fd;
        Deadline = deadline;
        _core.Reset();
        Volatile.Write(ref _completed, 0);
        return new ValueTask<ParkOutcome>(this, _core.Version);
    }

    /// <summary>Ends the wait unless it has already ended; false then.</summary>
    public bool TryComplete(ParkOutcome outcome)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return false;
        }

        _core.SetResult(outcome);
        return true;
    }

    public ParkOutcome GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
