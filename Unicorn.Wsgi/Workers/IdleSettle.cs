using System.Diagnostics;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// Tells a worker when it has gone quiet: no request completed for <c>after</c> and none running. Due once
/// per quiet spell; the next completed request starts a new one.
/// </summary>
internal sealed class IdleSettle(TimeSpan after)
{
    private long _requests = -1;
    private long _quietSince;
    private bool _settled;

    /// <param name="requests">the worker's completed requests so far.</param>
    /// <param name="busy">a request is running now.</param>
    /// <param name="now">a <see cref="Stopwatch"/> timestamp.</param>
    public bool Due(long requests, bool busy, long now)
    {
        if (requests != _requests || busy)
        {
            // Busy counts as activity too: a long request that then completes starts its quiet spell afresh.
            _requests = requests;
            _quietSince = now;
            _settled = false;
            return false;
        }

        if (_settled || Stopwatch.GetElapsedTime(_quietSince, now) < after)
        {
            return false;
        }

        _settled = true;
        return true;
    }
}
