using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>
/// The registry of worker classes: each name <see cref="WorkerClasses"/> accepts (it owns the spellings,
/// the Gunicorn class paths among them, and config validation refuses the rest) to the host that runs it.
/// </summary>
public static class AppHosts
{
    private static readonly Dictionary<string, IAppHostFactory> s_hosts = new(StringComparer.Ordinal)
    {
        [WorkerClasses.Sync] = new AppThreadPoolFactory(_ => 1),
        [WorkerClasses.Gthread] = new AppThreadPoolFactory(s => Math.Max(1, s.Threads)),
        [WorkerClasses.Asgi] = new AsgiHostFactory(),
        [WorkerClasses.Gevent] = new GreenletHostFactory(WorkerClasses.Gevent),
        [WorkerClasses.Eventlet] = new GreenletHostFactory(WorkerClasses.Eventlet),
        [WorkerClasses.Tornado] = new TornadoHostFactory(),
    };

    /// <summary>The worker-class names a host is registered for.</summary>
    public static IReadOnlyCollection<string> Names => s_hosts.Keys;

    /// <summary>
    /// The host for the settings' worker_class, in any spelling <see cref="WorkerClasses"/> accepts, after
    /// Gunicorn's rule that sync with more than one thread is gthread (<see cref="Settings.EffectiveWorkerClass"/>).
    /// </summary>
    public static IAppHostFactory For(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        // Settings were validated (SettingsResolver refuses other classes), so a miss is a program error.
        return s_hosts.TryGetValue(settings.EffectiveWorkerClass, out var host)
            ? host
            : throw new InvalidOperationException($"no app host for worker class '{settings.WorkerClass}'");
    }

    /// <summary>True when the worker class runs WSGI requests on a pool of Python threads (sync, gthread).</summary>
    internal static bool RunsWsgiThreads(Settings settings) => For(settings) is AppThreadPoolFactory;

    /// <summary>True when the worker class calls a WSGI app (sync, gthread, gevent, eventlet), not asgi or tornado.</summary>
    public static bool RunsWsgi(Settings settings) => For(settings) is AppThreadPoolFactory or GreenletHostFactory;

    public static IAppHost Create(Settings settings, ILoadedApp app, IErrorLog log, HubThread? hub = null) => For(settings).Create(settings, app, log, hub);
}
