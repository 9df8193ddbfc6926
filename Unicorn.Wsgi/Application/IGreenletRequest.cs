namespace Unicorn.Wsgi.Application;

/// <summary>
/// One request as its greenlet drives it. No call blocks: a write the client cannot take yet, or a body read
/// whose bytes have not arrived, answers "wait" and the greenlet waits in Python until the hub hears its
/// <see cref="Id"/> from <see cref="IGreenletHub.TryTakeReady"/>. (A greenlet must never switch away while
/// .NET frames are on its stack, so the waiting cannot happen here.)
/// </summary>
public interface IGreenletRequest
{
    /// <summary>Unique in this worker; what <see cref="IGreenletHub.TryTakeReady"/> returns.</summary>
    long Id { get; }

    WsgiRequest Request { get; }

    /// <summary>True once body bytes (and so the head) were handed over: start_response's exc_info rule.</summary>
    bool HeadersSent { get; }

    /// <summary>Sets status and headers, replaceable until <see cref="HeadersSent"/>.</summary>
    /// <exception cref="InvalidResponseException">status or a header is not valid HTTP.</exception>
    void SetResponse(string status, IReadOnlyList<KeyValuePair<string, string>> headers);

    /// <summary>Queues body bytes (copied) for the client.</summary>
    GreenletWrite Write(ReadOnlySpan<byte> data);

    /// <summary>
    /// Queues <paramref name="count"/> bytes of <paramref name="file"/> from <paramref name="offset"/> for the client,
    /// sent with sendfile(2) where the connection allows (wsgi.file_wrapper); the request owns and closes the handle.
    /// </summary>
    GreenletWrite SendFile(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, long count);

    /// <summary>
    /// Up to <paramref name="destination"/>.Length bytes of a streamed body, copied straight into it: the count
    /// (0 at its end), or -1 when none has arrived yet (wait for <see cref="Id"/>, then call again).
    /// </summary>
    /// <exception cref="IOException">the client went away, was too slow or sent bad framing.</exception>
    int TryRead(Span<byte> destination);

    /// <summary>
    /// Writes <paramref name="body"/> and ends the response: the whole of a small response in one call. When the
    /// socket takes all of it at once it is written on the calling thread and the request finishes there (the
    /// connection goes on to its next request from this call); otherwise the rest drains as a <see cref="Write"/> would.
    /// </summary>
    GreenletWrite Respond(ReadOnlySpan<byte> body);

    /// <summary>Ends the response normally.</summary>
    void Complete();

    /// <summary>
    /// The app failed: a 500 page when nothing was sent yet, otherwise the connection is closed. When the
    /// failure came from a body read the client spoilt, that is answered instead, as the threaded host does.
    /// </summary>
    void Fail(string message, string traceback);

    /// <summary>Ends the response abnormally (the client went away).</summary>
    void Abort();
}
