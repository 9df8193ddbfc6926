using Microsoft.Extensions.Logging;
using Unicorn.Wsgi.Logging;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;
using UnicornLevel = Unicorn.Wsgi.Logging.LogLevel;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// Kestrel's log, into the worker's error log as one line per event and never a stack trace: a client's
/// protocol error (a reset flood, a CONTINUATION flood, a window overflow) is the client's affair, logged
/// once at info when Kestrel ends the connection with GOAWAY; Kestrel's own failures are errors.
/// </summary>
internal sealed class Http2KestrelLog(IErrorLog log) : ILoggerFactory, ILogger
{
    public void AddProvider(ILoggerProvider provider)
    {
    }

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug && log.IsEnabled(Map(logLevel, default));

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        // A client that went away mid-write is not a server error.
        var level = exception is IOException or Microsoft.AspNetCore.Connections.ConnectionAbortedException ? UnicornLevel.Debug : Map(logLevel, eventId);
        if (!log.IsEnabled(level))
        {
            return;
        }

        var message = formatter(state, exception);
        if (exception is not null)
        {
            message += $" ({exception.GetType().Name}: {exception.Message})";
        }

        log.Log(level, "HTTP/2: " + message);
    }

    public void Dispose()
    {
    }

    // Kestrel logs a client's protocol errors at debug; Unicorn keeps them at info, one line each, as it logs
    // a rejected HTTP/1 request at warning only when it answers with an error page.
    private static UnicornLevel Map(LogLevel level, EventId eventId) => level switch
    {
        LogLevel.Critical => UnicornLevel.Critical,
        LogLevel.Error => UnicornLevel.Error,
        LogLevel.Warning => UnicornLevel.Warning,
        _ when IsClientProtocolError(eventId) => UnicornLevel.Info,
        _ => UnicornLevel.Debug,
    };

    // One line per connection Kestrel ends for a protocol error (GOAWAY); the per-stream resets that led to it
    // (thousands, in a rapid-reset flood) stay at debug.
    private static bool IsClientProtocolError(EventId eventId) => eventId.Name == "Http2ConnectionError";
}
