namespace Unicorn.Wsgi.Uwsgi;

/// <summary>
/// A uwsgi packet the server refuses, with the status Gunicorn gives the same error (InvalidUWSGIHeader 400,
/// UnsupportedModifier 501, ForbiddenUWSGIRequest 403). The connection is closed after answering.
/// </summary>
public sealed class UwsgiProtocolException : Exception
{
    public UwsgiProtocolException(int statusCode, string message, bool endOfInput = false)
        : base(message)
    {
        StatusCode = statusCode;
        IsEndOfInput = endOfInput;
    }

    public UwsgiProtocolException()
        : this(400, "Invalid uWSGI header")
    {
    }

    public UwsgiProtocolException(string message)
        : this(400, message)
    {
    }

    public UwsgiProtocolException(string message, Exception inner)
        : base(message, inner)
    {
        StatusCode = 400;
    }

    public int StatusCode { get; }

    /// <summary>The peer closed the connection mid-packet: there is nobody to answer.</summary>
    public bool IsEndOfInput { get; }

    public string ReasonPhrase => StatusCode switch
    {
        403 => "Forbidden",
        501 => "Not Implemented",
        _ => "Bad Request",
    };

    internal static UwsgiProtocolException Invalid(string what) => new(400, $"Invalid uWSGI header: {what}");
}
