using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Cli;

/// <summary>
/// The master's logs across HUPs: everything logs through <see cref="ErrorLog"/>, which forwards to the logs
/// built from the current settings; <see cref="Reload"/> builds new ones from reloaded settings and swaps them
/// in, so a changed log level, error log file or log config applies to the master too, as in Gunicorn 26.1.
/// </summary>
internal sealed class MasterLogs(LoggingServices initial, ForwardingErrorLog errorLog, Func<Settings, LoggingServices> create) : IDisposable
{
    private readonly LoggingServices _initial = initial;
    private LoggingServices _current = initial;

    public ForwardingErrorLog ErrorLog { get; } = errorLog;

    public LoggingServices Current => _current;

    public void WorkersChanged(int workers) => _current.WorkersChanged(workers);

    public void BacklogMeasured(int waiting) => _current.BacklogMeasured(waiting);

    public void Reopen() => _current.Reopen();

    /// <summary>Throws <see cref="LoggingSetupException"/> (one line) when the new settings' logs cannot be built; the current ones stay.</summary>
    public void Reload(Settings settings)
    {
        var fresh = create(settings);
        var old = _current;
        _current = fresh;
        ErrorLog.Target = fresh.ErrorLog;
        if (!ReferenceEquals(old, _initial))
        {
            old.Dispose();
        }
    }

    /// <summary>The first logs belong to whoever built them; later ones are this object's.</summary>
    public void Dispose()
    {
        if (!ReferenceEquals(_current, _initial))
        {
            ErrorLog.Target = _initial.ErrorLog;
            _current.Dispose();
        }
    }
}
