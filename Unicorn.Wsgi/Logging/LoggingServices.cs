namespace Unicorn.Wsgi.Logging;

/// <summary>
/// The logs and metrics clients of one process (master or worker), built from settings by
/// <see cref="LoggingSetup.Create"/>. A worker calls <see cref="OnRequest"/> once per finished request;
/// both master and workers call <see cref="Reopen"/> on USR1.
/// </summary>
public sealed class LoggingServices : IDisposable
{
    internal LoggingServices(ErrorLog errorLog, AccessLog accessLog, StatsdClient? statsd, string? metricsBind)
    {
        ErrorLog = errorLog;
        AccessLog = accessLog;
        Statsd = statsd;
        MetricsBind = metricsBind;
    }

    public ErrorLog ErrorLog { get; }

    public AccessLog AccessLog { get; }

    /// <summary>Null unless <c>--statsd-host</c> is set. The arbiter sends <c>gunicorn.workers</c> with
    /// <c>Statsd?.Gauge("gunicorn.workers", n)</c> each time it manages workers.</summary>
    public StatsdClient? Statsd { get; }

    /// <summary><c>--metrics-bind</c> (HOST:PORT) when the Prometheus endpoint is wanted; the master starts
    /// <see cref="Metrics.MetricsListener"/> on it.</summary>
    public string? MetricsBind { get; }

    /// <summary>True when <see cref="OnRequest"/> does anything; a worker may skip building entries otherwise.</summary>
    public bool WantsRequests => AccessLog.Enabled;

    /// <summary>One finished request: queues its access line and sends Gunicorn's request metrics.
    /// Costs the caller one bounded-queue write: the line and the metrics are sent by the access log's
    /// background thread.</summary>
    public void OnRequest(AccessLogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        AccessLog.Log(entry);
    }

    /// <summary>USR1: reopen the error and access log files at their paths.</summary>
    public void Reopen()
    {
        ((IErrorLog)ErrorLog).Reopen();
        AccessLog.Reopen();
    }

    /// <summary>Writes what is queued, then closes files and sockets. Call last, at exit.</summary>
    public void Dispose()
    {
        AccessLog.Flush(TimeSpan.FromSeconds(2));
        AccessLog.Dispose();
        ErrorLog.Dispose();
        Statsd?.Dispose();
    }
}
