using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>
/// The asgi worker class (also spelt uvicorn.workers.UvicornWorker): one event loop runs every request. The
/// loop starts, and lifespan startup runs, while the worker boots, so a worker is ready only once startup is done
/// and a failed startup under asgi_lifespan = on is a boot error.
/// </summary>
internal sealed class AsgiHostFactory : IAppHostFactory
{
    // ASGI has no wsgi.multithread; the WSGI form the worker also builds runs on no thread.
    public bool IsMultithread(Settings settings) => false;

    public IAppHost Create(Settings settings, ILoadedApp app, IErrorLog log, HubThread? hub = null) =>
        Start(settings, app, settings.AsgiLoop, settings.AsgiLifespan);

    /// <summary>
    /// Starts the loop for <paramref name="app"/>'s ASGI form: the one place the asgi settings become the loop's
    /// options, shared with the tornado worker class, which fixes the loop and lifespan itself.
    /// </summary>
    internal static AsgiHost Start(Settings settings, ILoadedApp app, string loop, string lifespan)
    {
        var uvicorn = WorkerClasses.IsUvicorn(settings.WorkerClass);
        var options = new AsgiOptions
        {
            Loop = loop,
            Lifespan = lifespan,
            ReportedStartupFailureStops = uvicorn,
            RootPath = settings.RootPath,
            DisconnectGracePeriod = TimeSpan.FromSeconds(Math.Max(0, settings.AsgiDisconnectGracePeriod)),
            WsMaxSize = settings.WsMaxSize,
            WsPingInterval = TimeSpan.FromSeconds(settings.WsPingInterval),
            WsPingTimeout = TimeSpan.FromSeconds(settings.WsPingTimeout),
            ForwardedClient = uvicorn ? ForwardedFor.Reader(settings.ForwardedAllowIps) : null,
        };
        return new AsgiHost(app.Asgi.Start(options), Math.Max(1, settings.WorkerConnections));
    }
}
