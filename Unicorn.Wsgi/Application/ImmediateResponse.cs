namespace Unicorn.Wsgi.Application;

/// <summary>What <see cref="IResponseSink.TryCompleteNow"/> did with a whole response.</summary>
public enum ImmediateResponse
{
    /// <summary>The sink has no non-blocking path (TLS, HTTP/2): nothing was written; use the blocking calls.</summary>
    Unsupported,

    /// <summary>Head, body and end all went to the socket: the response is done.</summary>
    Sent,

    /// <summary>The socket took part or none of it: the rest is buffered and <see cref="IResponseSink.Flush"/> sends it.</summary>
    Buffered,
}
