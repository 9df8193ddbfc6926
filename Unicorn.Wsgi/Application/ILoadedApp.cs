namespace Unicorn.Wsgi.Application;

/// <summary>
/// The user's app as a worker loaded it, before a host runs it. Each worker class's host takes the form it
/// runs: the threaded host (sync, gthread) calls the WSGI app on its own threads; a greenlet or event-loop
/// host takes a form of its own, added here as a member the bridge implements.
/// </summary>
public interface ILoadedApp
{
    /// <summary>The app called as WSGI from dedicated app threads.</summary>
    IWsgiApplication Wsgi { get; }

    /// <summary>The app called as ASGI 3 on an event loop (the asgi worker class).</summary>
    /// <exception cref="NotSupportedException">this app has no ASGI form.</exception>
    IAsgiApplication Asgi { get; }

    /// <summary>The app run as greenlets on one hub thread (gevent, eventlet).</summary>
    IGreenletApplication Greenlets { get; }
}
