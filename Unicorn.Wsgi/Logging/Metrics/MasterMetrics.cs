using System.Net;

namespace Unicorn.Wsgi.Logging.Metrics;

/// <summary>
/// Everything the master does for <c>--metrics-bind</c>, behind four calls the arbiter makes:
/// <see cref="ReserveSlot"/> before spawning a worker (its environment variables go into the worker's
/// environment), <see cref="WorkerStarted"/> once the pid is known, <see cref="WorkerExited"/> when it is
/// reaped, and <see cref="SetWorkerCount"/> when the count changes. Slots are reused; a dead worker's
/// counters are kept (see <see cref="MetricsBoard.Retire"/>).
/// </summary>
public sealed class MasterMetrics : IAsyncDisposable
{
    /// <summary>Room for this many live workers (TTIN included); 8 KiB each, sparse in tmpfs.</summary>
    public const int DefaultSlots = 256;

    private readonly MetricsBoard _board;
    private readonly MetricsListener _listener;
    private readonly Lock _lock = new();
    private readonly bool[] _used;
    private readonly Dictionary<int, int> _slotByPid = [];

    private MasterMetrics(MetricsBoard board, MetricsListener listener)
    {
        _board = board;
        _listener = listener;
        _used = new bool[board.Slots];
    }

    public IPEndPoint EndPoint => _listener.EndPoint;

    /// <summary>Creates the shared file and starts serving <c>GET /metrics</c> on <paramref name="bind"/>.
    /// Throws <see cref="IOException"/> or <see cref="FormatException"/> naming <c>--metrics-bind</c>.</summary>
    public static MasterMetrics Start(string bind, int masterPid, int slots = DefaultSlots)
    {
        var board = MetricsBoard.Create(MetricsBoard.DefaultPath(masterPid), slots);
        try
        {
            var listener = MetricsListener.Start(bind, () => PrometheusText.Render(board.Snapshot()));
            return new MasterMetrics(board, listener);
        }
        catch
        {
            board.Dispose();
            throw;
        }
    }

    /// <summary>Takes a free slot for a worker about to be spawned and returns the environment variables to
    /// add to its environment; empty (and the worker runs without metrics) if every slot is taken.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ReserveSlot(out int slot)
    {
        lock (_lock)
        {
            slot = Array.IndexOf(_used, false);
            if (slot < 0)
            {
                return [];
            }

            _used[slot] = true;
        }

        return [.. MetricsEnvironment.ForWorker(_board, slot)];
    }

    /// <summary>The worker spawned into <paramref name="slot"/> has <paramref name="pid"/>; a failed
    /// spawn passes null to free the slot.</summary>
    public void WorkerStarted(int slot, int? pid)
    {
        if (slot < 0)
        {
            return;
        }

        lock (_lock)
        {
            if (pid is { } p)
            {
                _slotByPid[p] = slot;
            }
            else
            {
                _used[slot] = false;
            }
        }
    }

    /// <summary>A worker was reaped: keep its counters, count the restart cause (timeout, crash,
    /// max_requests, boot_error, reload, scale_down...), free its slot.</summary>
    public void WorkerExited(int pid, string cause)
    {
        int slot;
        lock (_lock)
        {
            if (!_slotByPid.Remove(pid, out slot))
            {
                return;
            }
        }

        _board.Retire(slot);
        _board.RecordWorkerExit(cause);
        lock (_lock)
        {
            _used[slot] = false;
        }
    }

    public void SetWorkerCount(int workers) => _board.SetWorkerCount(workers);

    /// <summary>The current exposition text (what a scrape gets).</summary>
    public string Render() => PrometheusText.Render(_board.Snapshot());

    public async ValueTask DisposeAsync()
    {
        await _listener.DisposeAsync().ConfigureAwait(false);
        _board.Dispose();
    }
}
