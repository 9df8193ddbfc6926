using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// <c>min_request_body_rate</c>, as Kestrel's MinRequestBodyDataRate: once a body has been waited for longer than
/// the grace period, the bytes received divided by the time spent waiting for them must stay at or above the rate.
/// Said as a deadline, a body with <c>b</c> bytes so far may be waited for until <c>max(grace, b / rate)</c> of
/// waiting has passed; that only moves when bytes arrive, so the bound of the read that waits (its timer, which
/// each read already has) enforces it: no timer, task or allocation of its own. Off (0) leaves each read's timeout.
/// </summary>
internal readonly record struct MinBodyDataRate(int BytesPerSecond, long GraceMilliseconds = MinBodyDataRate.Grace)
{
    /// <summary>Kestrel's grace period: a body's first seconds are never too slow (a client's TCP slow start, a proxy's own buffering).</summary>
    public const long Grace = 5000;

    /// <summary>
    /// How long the next wait for body bytes may last, having received <paramref name="bytes"/> after
    /// <paramref name="waitedMilliseconds"/> of waiting: <paramref name="readTimeout"/>, or less (never below zero) when
    /// the rate runs out first, which <c>ByRate</c> says.
    /// </summary>
    public (TimeSpan Wait, bool ByRate) NextWait(long bytes, long waitedMilliseconds, TimeSpan readTimeout)
    {
        if (BytesPerSecond <= 0)
        {
            return (readTimeout, false);
        }

        var left = Math.Max(GraceMilliseconds, bytes * 1000 / BytesPerSecond) - waitedMilliseconds;
        return left < readTimeout.TotalMilliseconds ? (TimeSpan.FromMilliseconds(Math.Max(0, left)), true) : (readTimeout, false);
    }

    /// <summary>The failure of a wait that <see cref="NextWait"/> bounded: by the rate, or by the read timeout.</summary>
    public RequestBodyTimeoutException Failure(bool byRate) => byRate
        ? new RequestBodyTimeoutException($"Request body arrived below min_request_body_rate ({BytesPerSecond} bytes/s)")
        : new RequestBodyTimeoutException();
}
