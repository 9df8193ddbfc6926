namespace Unicorn.Wsgi.Application;

/// <summary>
/// An ASGI app as the asgi worker class runs it: on one event-loop thread of its own, not on app threads.
/// </summary>
public interface IAsgiApplication
{
    /// <summary>
    /// Starts the loop thread and runs lifespan startup on it, returning once the loop serves requests.
    /// </summary>
    /// <exception cref="AsgiStartupException">the loop cannot run, or lifespan startup failed under asgi_lifespan = on.</exception>
    IAsgiLoop Start(AsgiOptions options);
}
