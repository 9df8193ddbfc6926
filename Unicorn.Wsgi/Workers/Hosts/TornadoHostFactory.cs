using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>
/// The tornado worker class: the asgi host's one event loop, running plain asyncio (which tornado's IOLoop wraps),
/// serving the app in the form the bridge adapted for tornado (its <see cref="ILoadedApp.Asgi"/>): a
/// tornado.web.Application directly, any other app through tornado's WSGIContainer, as Gunicorn's TornadoWorker does.
/// </summary>
internal sealed class TornadoHostFactory : IAppHostFactory
{
    // WSGIContainer says wsgi.multithread False itself; nothing runs on a second thread.
    public bool IsMultithread(Settings settings) => false;

    // Plain asyncio (tornado's IOLoop wraps it) and lifespan "auto": asgi_loop and asgi_lifespan are the asgi class's.
    public IAppHost Create(Settings settings, ILoadedApp app, IErrorLog log, HubThread? hub = null) =>
        AsgiHostFactory.Start(settings, app, "asyncio", "auto");
}
