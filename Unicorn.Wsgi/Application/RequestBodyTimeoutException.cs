namespace Unicorn.Wsgi.Application;

/// <summary>
/// The client sent no body bytes for <c>timeout</c> seconds, or sent them below <c>min_request_body_rate</c>. Its
/// message is the error-log line (with <see cref="LogLine"/>): a slow client is the client's affair, so one line and
/// never a stack trace.
/// </summary>
public sealed class RequestBodyTimeoutException : IOException
{
    public RequestBodyTimeoutException()
        : base("Timed out reading the request body")
    {
    }

    public RequestBodyTimeoutException(string message)
        : base(message)
    {
    }

    public RequestBodyTimeoutException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>The one line logged for it, naming the client as Gunicorn's "Invalid request from ip=" does.</summary>
    public string LogLine(string remote) => $"{Message} from ip={remote}";
}
