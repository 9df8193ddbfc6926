using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>One worker class's host, as <see cref="AppHosts"/> lists it.</summary>
public interface IAppHostFactory
{
    /// <summary><c>wsgi.multithread</c>: whether requests may run in several Python threads at once. Asked
    /// before the app is loaded, since the bridge builds the constant part of environ then.</summary>
    bool IsMultithread(Settings settings);

    /// <summary>The host, running <paramref name="app"/> in the form this worker class takes.</summary>
    IAppHost Create(Settings settings, ILoadedApp app, IErrorLog log);
}
