namespace Unicorn.Wsgi.Application;

/// <summary>
/// Where the app thread writes one response. Calls block the app thread (back-pressure from a slow
/// client); the bridge releases the GIL around them. The server frames the response (Content-Length or
/// chunked, HEAD, 204/304), adds Server/Date/Connection, and validates the app's headers.
/// </summary>
public interface IResponseSink
{
    /// <summary>True once the status line and headers have been written to the client.</summary>
    bool HeadersSent { get; }

    /// <summary>
    /// Sets status ("200 OK") and headers. May be called again to replace them until
    /// <see cref="HeadersSent"/> (the exc_info rule). Headers are sent with the first body bytes or at
    /// <see cref="Complete"/>.
    /// </summary>
    /// <exception cref="InvalidResponseException">status or a header is not valid HTTP (the bridge turns it into a 500).</exception>
    void SetResponse(string status, IReadOnlyList<KeyValuePair<string, string>> headers);

    /// <summary>
    /// As <see cref="SetResponse"/>, for an ASGI app, which may close its connection: a <c>close</c> in its Connection
    /// header closes it after this response, as Gunicorn's ASGI worker and uvicorn do. (WSGI apps may not send
    /// hop-by-hop headers; <see cref="SetResponse"/> drops them, as Gunicorn's WSGI workers do.) A sink whose
    /// connection is not the app's to close (HTTP/2) ignores it.
    /// </summary>
    void SetAsgiResponse(string status, IReadOnlyList<KeyValuePair<string, string>> headers) => SetResponse(status, headers);

    /// <summary>
    /// Sends a <c>103 Early Hints</c> interim response with <paramref name="headers"/> now, before the final
    /// response (<c>environ['wsgi.early_hints']</c>, Gunicorn 25). Dropped, as Gunicorn drops it, once
    /// <see cref="HeadersSent"/> or for a client that cannot take one (HTTP/1.0); a sink that has no interim
    /// responses (uwsgi) drops it too.
    /// </summary>
    /// <exception cref="InvalidResponseException">a header name is not a token or a value holds CR, LF or another control.</exception>
    /// <exception cref="IOException">the client went away.</exception>
    void SendEarlyHints(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
    }

    /// <summary>
    /// Adds response trailers, sent after the last body bytes (<c>environ['gunicorn.http2.send_trailers']</c>,
    /// Gunicorn 26, offered on HTTP/2 requests only). Only an HTTP/2 sink has them; any other refuses.
    /// </summary>
    /// <exception cref="InvalidResponseException">a name is not a token, a value holds a control, the field may not be a
    /// trailer, or the response has ended or cannot carry trailers.</exception>
    void AddTrailers(IReadOnlyList<KeyValuePair<string, string>> trailers) =>
        throw new InvalidResponseException("response trailers are sent over HTTP/2 only");

    /// <summary>Appends body bytes; may buffer. Sends headers first if not yet sent.</summary>
    /// <exception cref="IOException">the client went away.</exception>
    void Write(ReadOnlySpan<byte> data);

    /// <summary>
    /// Writes body bytes and, when <paramref name="complete"/>, ends the response, without holding a thread while
    /// the client is slow: the bytes go out on async I/O (the ASGI host's path). They are copied into the sink's
    /// buffers before the call returns, so <paramref name="data"/> may point into memory the caller owns only for
    /// the call (an app's bytes object, read in place under the GIL). A client that takes nothing for as long as
    /// the blocking writes wait for one (the transport's stalled-client bound) fails the write with
    /// <see cref="IOException"/>, and what was left unsent is dropped. The default runs the blocking calls, for a
    /// sink without an async path.
    /// </summary>
    /// <exception cref="IOException">the client went away or took nothing for the stalled-client bound (thrown, or
    /// the returned task's).</exception>
    /// <remarks>See <see cref="HasAsyncWrites"/>: only then may a caller that must not block (an event loop) call it.</remarks>
    ValueTask WriteAsync(ReadOnlySpan<byte> data, bool complete)
    {
        if (!data.IsEmpty)
        {
            Write(data);
        }

        if (complete)
        {
            Complete();
        }
        else
        {
            Flush();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>True when <see cref="WriteAsync"/> never blocks the caller (it does not fall back to the blocking calls).</summary>
    bool HasAsyncWrites => false;

    /// <summary>
    /// True when a blocking write waits for work that itself runs on the thread pool (HTTP/2: Kestrel reads the
    /// client's WINDOW_UPDATE frames there), so a caller on a pool thread must await <see cref="WriteAsync"/>
    /// rather than block: enough blocked callers starve the pool of the threads that would release them.
    /// A socket's blocking send waits on the kernel only.
    /// </summary>
    bool BlockingWritesNeedThePool => false;

    /// <summary>
    /// Frames <paramref name="body"/> as the whole response (head, body, end) and sends it with one non-blocking
    /// write, for a caller that must never block (the greenlet hub). Whatever the socket did not take stays
    /// buffered for <see cref="Flush"/>. The default has no such path and writes nothing.
    /// </summary>
    /// <exception cref="IOException">the client went away.</exception>
    ImmediateResponse TryCompleteNow(ReadOnlySpan<byte> body) => ImmediateResponse.Unsupported;

    /// <summary>Pushes buffered bytes to the client (after each item of a streamed body).</summary>
    void Flush();

    /// <summary>
    /// <see cref="Write"/> then <see cref="Flush"/>, for one item of a streamed body: a sink may send the item
    /// straight from <paramref name="data"/> together with what it buffered, in one write and without a copy.
    /// </summary>
    /// <exception cref="IOException">the client went away.</exception>
    void WriteAndFlush(ReadOnlySpan<byte> data)
    {
        Write(data);
        Flush();
    }

    /// <summary>
    /// Sends count bytes of an open file from offset (wsgi.file_wrapper), with sendfile when the
    /// transport allows it. Returns false when the sink cannot send files directly; the caller then
    /// falls back to reading blocks and calling <see cref="Write"/>.
    /// </summary>
    bool TrySendFile(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, long count);

    /// <summary>Ends the response normally (final chunk for chunked encoding, flush).</summary>
    void Complete();

    /// <summary>Ends the response abnormally: the connection is closed without a clean end.</summary>
    void Abort();

    /// <summary>
    /// The worker is being aborted (the master's timeout) while the app still holds this request: sends Gunicorn's
    /// 500 page now, from the aborting thread, if nothing of the response has been sent. False when the response
    /// has begun, the client is gone, or the sink cannot (then the connection just closes as the worker exits).
    /// </summary>
    bool TryAnswerAbortedRequest() => false;
}

/// <summary>The app produced a status line or header the server refuses to send.</summary>
public sealed class InvalidResponseException(string message) : Exception(message);
