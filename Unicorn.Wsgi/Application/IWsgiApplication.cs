namespace Unicorn.Wsgi.Application;

/// <summary>
/// The one seam between the server and the user's app. Implemented by Unicorn.PythonBridge for a real
/// WSGI app and by fakes in tests, so HTTP and worker code never see Python.
/// </summary>
public interface IWsgiApplication
{
    /// <summary>
    /// Called once on each dedicated app thread, on that thread, before it serves anything. The returned
    /// handler is used only from that thread (it owns that thread's Python thread state) and is disposed
    /// on it when the worker stops.
    /// </summary>
    IWsgiThread AttachThread();
}

/// <summary>A per-thread handle that runs requests synchronously on its own thread.</summary>
public interface IWsgiThread : IDisposable
{
    /// <summary>
    /// Runs the app for one request and writes the whole response through <paramref name="response"/>.
    /// Blocks the calling (app) thread. Must not throw for app errors: those become a 500 (headers not
    /// yet sent) or an <see cref="IResponseSink.Abort"/> (headers sent) and an error-log entry.
    /// </summary>
    /// <exception cref="Http.BadHttpRequestException">the app raised out of a body read that met bad chunked
    /// framing: the client's fault, answered by the connection as any bad request.</exception>
    void Invoke(WsgiRequest request, IResponseSink response);
}
