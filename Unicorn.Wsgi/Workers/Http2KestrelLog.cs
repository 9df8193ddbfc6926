using Microsoft.Extensions.Logging;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Transport.Tls;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;
using UnicornLevel = Unicorn.Wsgi.Logging.LogLevel;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// Kestrel's log, into the worker's error log as one line per event and never a stack trace: a client's
/// protocol error (a reset flood, a CONTINUATION flood, a window overflow, a header block HPACK cannot decode)
/// is the client's affair, logged once at info when Kestrel ends the connection with GOAWAY; Kestrel's own
/// failures are errors.
/// </summary>
internal sealed class Http2KestrelLog(IErrorLog log) : ILoggerFactory, ILogger
{
    private static readonly EventId ClientProtocolError = new(0, "Http2ConnectionError");
    private const string ApplicationNeverCompleted = "ApplicationNeverCompleted";

    // Kestrel's "request processing ended abnormally": the connection's input failed (for TLS, a bad record).
    private const string RequestProcessingError = "RequestProcessingError";

    // Kestrel logs a header block it cannot decode under its own event, apart from its other connection errors,
    // though it ends the connection the same way (GOAWAY COMPRESSION_ERROR).
    private const string HPackDecodingError = "HPackDecodingError";

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    // Kestrel asks before each event without saying which, and logs a client's protocol errors at its debug level,
    // which Unicorn raises to info: so debug is enabled whenever info is, and Log drops the rest.
    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug && log.IsEnabled(Map(logLevel, ClientProtocolError));

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        // A record that does not decrypt is the client's garbage, not a client gone: one line at info, as the
        // protocol errors that end a connection (and as HTTP/1 logs it).
        if (eventId.Name == RequestProcessingError && TlsRecordFailure.Reason(exception) is { } why && ConnectionId(state) is { } id)
        {
            log.Log(UnicornLevel.Info, $"HTTP/2: Connection id \"{id}\": {why}");
            return;
        }

        // A client that went away mid-write is not a server error.
        var level = exception is IOException or Microsoft.AspNetCore.Connections.ConnectionAbortedException ? UnicornLevel.Debug : Map(logLevel, eventId);
        if (!log.IsEnabled(level))
        {
            return;
        }

        string message;
        if (IsClientProtocolError(eventId) && exception is not null && ConnectionId(state) is { } connection)
        {
            // The exception's message is the whole reason, with the error code sent in the GOAWAY; an HPACK
            // exception's message has no code, so it is said as the other connection errors say theirs.
            message = eventId.Name == HPackDecodingError
                ? $"Connection id \"{connection}\": HTTP/2 connection error (COMPRESSION_ERROR): {exception.Message}"
                : $"Connection id \"{connection}\": {exception.Message}";
        }
        else
        {
            message = formatter(state, exception);
            if (exception is not null)
            {
                message += $" ({exception.GetType().Name}: {exception.Message})";
            }
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
        // A connection Kestrel aborted and never released, which the HTTP/2 handler let go of and logged at info
        // (Http2ConnectionHandler.Abandoned), is collected, and Kestrel's connection manager then says so at critical.
        _ when eventId.Name == ApplicationNeverCompleted => UnicornLevel.Debug,
        LogLevel.Critical => UnicornLevel.Critical,
        LogLevel.Error => UnicornLevel.Error,
        LogLevel.Warning => UnicornLevel.Warning,
        _ when IsClientProtocolError(eventId) => UnicornLevel.Info,
        _ => UnicornLevel.Debug,
    };

    private static object? ConnectionId<TState>(TState state) =>
        state is IReadOnlyList<KeyValuePair<string, object?>> fields ? fields.FirstOrDefault(static f => f.Key == "ConnectionId").Value : null;

    // One line per connection Kestrel ends for a protocol error (GOAWAY); the per-stream resets that led to it
    // (thousands, in a rapid-reset flood) stay at debug.
    private static bool IsClientProtocolError(EventId eventId) => eventId.Name == ClientProtocolError.Name || eventId.Name == HPackDecodingError;
}
