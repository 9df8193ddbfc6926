using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>The greenlet host (gevent, eventlet): one hub thread, up to worker_connections requests at once.</summary>
internal sealed class GreenletHostFactory(string library) : IAppHostFactory
{
    // Gunicorn's async workers say wsgi.multithread False: greenlets share one thread.
    public bool IsMultithread(Settings settings) => false;

    public bool NeedsHubThread => true;

    public IAppHost Create(Settings settings, ILoadedApp app, IErrorLog log, HubThread? hub = null) =>
        new GreenletHost(app.Greenlets, library, Math.Max(1, settings.WorkerConnections), log, hub);
}
