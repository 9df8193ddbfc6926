using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>The threaded host (sync, gthread): an <see cref="AppThreadPool"/> of as many threads as <paramref name="threads"/> says.</summary>
internal sealed class AppThreadPoolFactory(Func<Settings, int> threads) : IAppHostFactory
{
    public bool IsMultithread(Settings settings) => threads(settings) > 1;

    public IAppHost Create(Settings settings, ILoadedApp app, IErrorLog log, HubThread? hub = null) => new AppThreadPool(app.Wsgi, threads(settings), log);
}
