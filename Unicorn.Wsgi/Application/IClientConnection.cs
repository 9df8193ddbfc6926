namespace Unicorn.Wsgi.Application;

/// <summary>
/// The client's side of an HTTP/1 or uwsgi connection while a request is in the app, for a host whose app waits for
/// the client to go away before it has anything to write (ASGI's <c>http.disconnect</c>: a long poll, Starlette's
/// <c>is_disconnected()</c>). Without it such a client is noticed only when a write fails.
/// </summary>
public interface IClientConnection
{
    /// <summary>
    /// Completes true once the client has closed or reset the connection; false when that cannot be known without
    /// reading (bytes are waiting: a pipelined request, a TLS alert) or when <paramref name="token"/> is cancelled.
    /// It reads nothing, so the connection's next request is untouched.
    /// </summary>
    Task<bool> WaitUntilClosedAsync(CancellationToken token);
}
