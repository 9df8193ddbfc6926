namespace Unicorn.Wsgi.Logging;

/// <summary>
/// An error log whose destination is chosen later: a process logs to stderr until its settings (and so
/// its configured log) are known, then everything goes to the configured one.
/// </summary>
public sealed class ForwardingErrorLog(IErrorLog initial) : IErrorLog
{
    private volatile IErrorLog _target = initial;

    public IErrorLog Target
    {
        get => _target;
        set => _target = value;
    }

    public bool IsEnabled(LogLevel level) => _target.IsEnabled(level);

    public void Log(LogLevel level, string message) => _target.Log(level, message);

    public void Exception(string message, string traceback) => _target.Exception(message, traceback);

    public void Exception(string message, string traceback, string format, params string[] args) =>
        _target.Exception(message, traceback, format, args);

    public void Metric(string metric) => _target.Metric(metric);

    public void Reopen() => _target.Reopen();
}
