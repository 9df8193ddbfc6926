namespace Unicorn.Wsgi.Logging;

/// <summary>
/// The logs and metrics clients of one process (master or worker), built from settings by
/// <see cref="LoggingSetup.Create"/>. A worker calls <see cref="OnRequest"/> once per finished request;
/// both master and workers call <see cref="Reopen"/> on USR1.
/// </summary>
public sealed class LoggingServices : IDisposable
{
    internal LoggingServices(ErrorLog errorLog, AccessLog accessLog, StatsdClient? statsd, string? metricsBind, Metrics.WorkerMetrics? metrics,
        IPythonLogging? python = null)
    {
        Python = python;
        ErrorLog = errorLog;
        AccessLog = accessLog;
        Statsd = statsd;
        MetricsBind = metricsBind;
        Metrics = metrics;
    }

    public ErrorLog ErrorLog { get; }

    /// <summary>Set when a Python log configuration routes records through Python's <c>logging</c>.</summary>
    public IPythonLogging? Python { get; }

    private IAccessLogGate? _gate;

    public AccessLog AccessLog { get; }

    /// <summary>Null unless <c>--statsd-host</c> is set. The arbiter sends <c>gunicorn.workers</c> with
    /// <c>Statsd?.Gauge("gunicorn.workers", n)</c> each time it manages workers.</summary>
    public StatsdClient? Statsd { get; }

    /// <summary><c>--metrics-bind</c> (HOST:PORT) when the Prometheus endpoint is wanted; the master starts
    /// <see cref="Metrics.MetricsListener"/> on it.</summary>
    public string? MetricsBind { get; }

    /// <summary>In a worker spawned with a metrics slot (the master runs <c>--metrics-bind</c>): its slot.
    /// <see cref="OnRequest"/> counts requests in it; the worker calls <c>Metrics?.Sample(...)</c> from its
    /// heartbeat for the thread and queue gauges.</summary>
    public Metrics.WorkerMetrics? Metrics { get; }

    /// <summary>True when <see cref="OnRequest"/> does anything; a worker may skip building entries otherwise.</summary>
    public bool WantsRequests => AccessLog.Enabled || Metrics is not null;

    /// <summary>Master: the worker count changed (statsd's <c>gunicorn.workers</c> gauge; Gunicorn sends it
    /// each time the arbiter manages workers).</summary>
    public void WorkersChanged(int workers) => Statsd?.Gauge("gunicorn.workers", workers);

    /// <summary>Master, with enable_backlog_metric: connections waiting to be accepted (statsd's <c>gunicorn.backlog</c>).</summary>
    public void BacklogMeasured(int waiting) => Statsd?.Histogram("gunicorn.backlog", waiting);

    /// <summary>One finished request: queues its access line and sends Gunicorn's request metrics.
    /// Costs the caller one bounded-queue write: the line and the metrics are sent by the access log's
    /// background thread.</summary>
    public void OnRequest(AccessLogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Metrics?.RequestFinished(entry.StatusCode, entry.Duration);
        AccessLog.Log(entry);
    }

    /// <summary>USR1: reopen the error and access log files at their paths. A file that cannot be opened (its
    /// directory gone, a worker's user without the right to it) is one error line, and its old descriptor stays
    /// in use: a logrotate mistake must not take the process down.</summary>
    public void Reopen()
    {
        TryReopen(((IErrorLog)ErrorLog).Reopen);
        TryReopen(AccessLog.Reopen);
        if (Python is not null)
        {
            TryReopen(Python.Reopen);
        }
    }

    private void TryReopen(Action reopen)
    {
        try
        {
            reopen();
        }
        catch (IOException e)
        {
            ErrorLog.Log(LogLevel.Error, $"Cannot reopen the log on USR1, writing to the file opened before: {e.Message}");
        }
    }

    /// <summary>Access lines pass <paramref name="gate"/> from now on (<see cref="AccessLog.UseGate"/>).</summary>
    public void UseAccessGate(IAccessLogGate gate)
    {
        _gate = gate;
        AccessLog.UseGate(gate);
    }

    /// <summary>Call before Python shuts down: writes the queued access lines through Python, then stops
    /// handing it records.</summary>
    public void BeforePythonShutdown()
    {
        if (Python is not null || _gate is not null)
        {
            AccessLog.Flush(TimeSpan.FromSeconds(2));
            Python?.Close();
            _gate?.Close();
        }
    }

    /// <summary>Writes what is queued, then closes files and sockets. Call last, at exit.</summary>
    public void Dispose()
    {
        AccessLog.Flush(TimeSpan.FromSeconds(2));
        AccessLog.Dispose();
        ErrorLog.Dispose();
        Statsd?.Dispose();
        Metrics?.Dispose();
    }
}
