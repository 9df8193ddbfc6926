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

    /// <summary>Whether the app is loaded, and the worker hooks run, on the thread the host's loop then runs on
    /// (<see cref="HubThread"/>): a greenlet hub's, which is per thread.</summary>
    bool NeedsHubThread => false;

    /// <summary>The host, running <paramref name="app"/> in the form this worker class takes; <paramref name="hub"/> is the
    /// thread the app was loaded on when <see cref="NeedsHubThread"/>.</summary>
    IAppHost Create(Settings settings, ILoadedApp app, IErrorLog log, HubThread? hub = null);
}
