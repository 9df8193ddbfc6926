using System.Globalization;
using System.Text;
using System.Threading.Channels;

namespace Unicorn.Wsgi.Logging;

/// <summary>
/// Gunicorn's access log (<c>gunicorn.access</c>), written off the request path: <see cref="Log"/> only
/// queues the entry (a bounded queue; when it is full the line is dropped and counted, never waited
/// for), and one background thread formats lines and writes them in batches, one write(2) per batch,
/// at most one batch every <see cref="BatchInterval"/>.
/// With syslog, each line also goes to syslog as <c>gunicorn.PREFIX.access: [pid] line</c>; with statsd, the
/// same thread sends Gunicorn's request metrics, so their three datagrams stay off the request path too.
/// </summary>
public sealed class AccessLog : IDisposable
{
    public const int DefaultCapacity = 16384;
    private const int BatchBytes = 32 * 1024;

    // After each batch the writer waits this long before it looks again, so under load lines gather
    // into batches instead of the writer being woken (a context switch) for every request. A line
    // reaches the file at most this much later than it would otherwise.
    private static readonly TimeSpan BatchInterval = TimeSpan.FromMilliseconds(5);

    private readonly Action<AccessLogEntry, StringBuilder> _format;
    private readonly LogFile? _file;
    private readonly SyslogClient? _syslog;
    private readonly string _syslogTag;
    private readonly IErrorLog? _errors;
    private readonly StatsdClient? _statsd;
    private readonly IPythonLogging? _python;
    private readonly string[] _atomNames;
    private volatile IAccessLogGate? _gate;
    private readonly Channel<AccessLogEntry>? _queue;
    private readonly Thread? _writer;
    private readonly object _progress = new();
    private long _accepted;
    private long _processed;
    private long _dropped;
    private long _droppedReported;
    private long _lastDropReport;

    /// <param name="format">An <c>access_log_format</c>, or "json" for <see cref="JsonAccessLogFormat"/>.</param>
    /// <param name="file">Where lines go (null: nowhere but syslog). The log owns and disposes it.</param>
    /// <param name="syslog">Also send each line to syslog (null: don't).</param>
    /// <param name="syslogTag">Gunicorn's tag, e.g. "gunicorn.myapp.access".</param>
    /// <param name="errors">Where a line that fails to format is reported, as Gunicorn does.</param>
    /// <param name="statsd">Sends each request's metrics from the writer thread (not owned: the caller disposes it).</param>
    public AccessLog(string format, LogFile? file, SyslogClient? syslog = null, string syslogTag = "gunicorn.access",
        IErrorLog? errors = null, int capacity = DefaultCapacity, StatsdClient? statsd = null, IPythonLogging? python = null)
    {
        _python = python;
        ArgumentNullException.ThrowIfNull(format);
        if (format == JsonAccessLogFormat.Name)
        {
            _format = static (entry, output) => output.Append(JsonAccessLogFormat.Format(entry));
        }
        else
        {
            var compiled = AccessLogFormat.Parse(format);
            _format = compiled.Format;
        }

        _atomNames = PythonAtomNames(format); // for Python's record: with a log config, or once a gate is used

        _file = file;
        _syslog = syslog;
        _syslogTag = syslogTag;
        _errors = errors;
        _statsd = statsd;
        if (!Enabled)
        {
            return;
        }

        _queue = Channel.CreateBounded<AccessLogEntry>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite: a full queue refuses, so drops can be counted
        });
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "access log" };
        _writer.Start();
    }

    /// <summary>False when nothing (file, syslog, statsd) wants requests: callers may skip building entries.</summary>
    public bool Enabled => _file is not null || _syslog is not null || _statsd is not null || _python is not null;

    /// <summary>True when lines are written somewhere (file, syslog or Python), not only counted for statsd.</summary>
    public bool WritesLines => _file is not null || _syslog is not null || _python is not null;

    /// <summary>
    /// From now on each line passes <paramref name="gate"/> (Python's <c>gunicorn.access</c> logger, once an app or
    /// hook gave it filters, handlers or a level) before it is written, and is written as the gate returns it.
    /// </summary>
    public void UseGate(IAccessLogGate gate)
    {
        ArgumentNullException.ThrowIfNull(gate);
        _gate = gate;
    }

    /// <summary>Lines dropped because the queue was full (the disk or syslog could not keep up).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues one request's line. Never blocks and never throws for a bad entry.</summary>
    public void Log(AccessLogEntry entry)
    {
        if (_queue is null)
        {
            return;
        }

        if (_queue.Writer.TryWrite(entry))
        {
            Interlocked.Increment(ref _accepted);
        }
        else
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Reopens the file (USR1 after logrotate). Lines queued meanwhile go to the new file.</summary>
    public void Reopen() => _file?.Reopen();

    /// <summary>Waits until every line queued so far is written (for shutdown and tests).</summary>
    public bool Flush(TimeSpan timeout)
    {
        var target = Interlocked.Read(ref _accepted);
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_progress)
        {
            while (Interlocked.Read(ref _processed) < target)
            {
                var left = deadline - Environment.TickCount64;
                if (left <= 0 || (_writer is { IsAlive: false }))
                {
                    return false;
                }

                Monitor.Wait(_progress, (int)Math.Min(left, 100));
            }
        }

        return true;
    }

    public void Dispose()
    {
        if (_queue is not null && _queue.Writer.TryComplete())
        {
            _writer!.Join(TimeSpan.FromSeconds(5));
        }

        _file?.Dispose();
        _syslog?.Dispose();
    }

    private void WriteLoop()
    {
        var reader = _queue!.Reader;
        var line = new StringBuilder(512);
        var batch = new StringBuilder(BatchBytes + 4096);
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            long count = 0;
            while (reader.TryRead(out var entry))
            {
                count++;
                _statsd?.Access(entry.StatusCode, entry.Duration);
                if (!WritesLines)
                {
                    continue;
                }

                line.Clear();
                try
                {
                    _format(entry, line);
                }
                catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException)
                {
                    _errors?.Error("Error formatting access log line: " + e.Message);
                    continue;
                }

                if (_gate is { } gate)
                {
                    string? passed;
                    try
                    {
                        passed = gate.Pass(line.ToString(), PythonAtoms(entry));
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        _errors?.Error("Error handing the access log line to Python: " + e.Message);
                        continue;
                    }

                    if (passed is null)
                    {
                        continue; // the logger's filter, level or disabled flag dropped it, as Gunicorn's would
                    }

                    line.Clear().Append(passed);
                }

                if (_syslog is not null)
                {
                    _syslog.Send(LogLevel.Info, string.Create(CultureInfo.InvariantCulture, $"{_syslogTag}: [{entry.Pid}] {line}"));
                }

                if (_python is not null)
                {
                    try
                    {
                        _python.Access(entry, line.ToString(), PythonAtoms(entry));
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        // The writer thread must outlive a failing sink, or every later line would queue forever.
                        _errors?.Error("Error handing the access log line to Python: " + e.Message);
                    }
                }

                if (_file is not null)
                {
                    batch.Append(line).Append('\n');
                    if (batch.Length >= BatchBytes)
                    {
                        WriteBatch(batch);
                    }
                }
            }

            WriteBatch(batch);
            Interlocked.Add(ref _processed, count);
            lock (_progress)
            {
                Monitor.PulseAll(_progress);
            }

            ReportDrops();
            Thread.Sleep(BatchInterval);
        }
    }

    private void WriteBatch(StringBuilder batch)
    {
        if (batch.Length == 0)
        {
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(batch.ToString());
        _file!.Write(bytes);
        batch.Clear();
    }

    /// <summary>Gunicorn's atoms, plus the braced ones the format names (Gunicorn's record carries every header).</summary>
    private static string[] PythonAtomNames(string format)
    {
        List<string> names = ["h", "l", "u", "t", "r", "m", "U", "q", "H", "s", "B", "b", "f", "a", "T", "M", "D", "L", "p"];
        // Each %({name}i), %({name}o) or %({name}e), scanned rather than matched with a Regex: a worker builds this
        // log while it boots, and loading and compiling a Regex was most of that.
        for (var at = format.IndexOf("%({", StringComparison.Ordinal); at >= 0; at = format.IndexOf("%({", at + 1, StringComparison.Ordinal))
        {
            var close = format.IndexOf('}', at + 3);
            if (close >= 0 && close + 2 < format.Length && format[close + 1] is 'i' or 'o' or 'e' && format[close + 2] == ')')
            {
                names.Add(format[(at + 2)..(close + 2)].ToLowerInvariant());
            }
        }

        return [.. names.Distinct(StringComparer.Ordinal)];
    }

    private List<KeyValuePair<string, object>> PythonAtoms(AccessLogEntry entry)
    {
        var atoms = new AccessLogAtoms(entry);
        var result = new List<KeyValuePair<string, object>>(_atomNames.Length);
        foreach (var name in _atomNames)
        {
            var value = atoms.Get(AccessLogAtoms.Compile(name));
            result.Add(new(name, value.Text is { } text ? text : value.Number));
        }

        return result;
    }

    // At most one warning every 10 seconds, from the writer thread, when lines were dropped.
    private void ReportDrops()
    {
        var dropped = Interlocked.Read(ref _dropped);
        if (dropped == _droppedReported || _errors is null || Environment.TickCount64 - _lastDropReport < 10_000)
        {
            return;
        }

        _errors.Warning(string.Create(CultureInfo.InvariantCulture, $"Access log queue full: {dropped - _droppedReported} lines dropped"));
        _droppedReported = dropped;
        _lastDropReport = Environment.TickCount64;
    }
}
