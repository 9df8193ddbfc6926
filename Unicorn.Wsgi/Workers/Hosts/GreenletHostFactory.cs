using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>The greenlet host (gevent, eventlet): one hub thread, up to worker_connections requests at once.</summary>
internal sealed class GreenletHostFactory(string library) : IAppHostFactory
{
    // One Python thread (the hub's) calls the app; wsgi.multithread is still True, as in Gunicorn (Cli/WorkerMain).
    public bool IsMultithread(Settings settings) => false;

    public bool NeedsHubThread => true;

    public IAppHost Create(Settings settings, ILoadedApp app, IErrorLog log, HubThread? hub = null) =>
        new GreenletHost(app.Greenlets, library, Math.Max(1, settings.WorkerConnections), log, hub);
}
