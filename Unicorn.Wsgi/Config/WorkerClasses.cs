namespace Unicorn.Wsgi.Config;

/// <summary>
/// The worker classes Unicorn implements, under their Gunicorn names and class paths: the one list of
/// accepted spellings. Config validation refuses every other name; <c>Workers.Hosts.AppHosts</c> maps
/// each name here to the host that runs it (Config cannot see Workers, so the names live here).
/// </summary>
public static class WorkerClasses
{
    public const string Sync = "sync";
    public const string Gthread = "gthread";
    public const string Asgi = "asgi";
    public const string Gevent = "gevent";
    public const string Eventlet = "eventlet";
    public const string Tornado = "tornado";

    private static readonly Dictionary<string, string> s_spellings = new(StringComparer.Ordinal)
    {
        [Sync] = Sync,
        ["gunicorn.workers.sync.SyncWorker"] = Sync,
        ["egg:gunicorn#sync"] = Sync,
        [Gthread] = Gthread,
        ["gunicorn.workers.gthread.ThreadWorker"] = Gthread,
        ["egg:gunicorn#gthread"] = Gthread,
        [Asgi] = Asgi,
        ["gunicorn.workers.gasgi.ASGIWorker"] = Asgi,
        ["egg:gunicorn#asgi"] = Asgi,
        // uvicorn's worker classes are served by the same host, so `-k uvicorn.workers.UvicornWorker` lines keep
        // working without uvicorn installed (docs/asgi.md).
        ["uvicorn.workers.UvicornWorker"] = Asgi,
        ["uvicorn.workers.UvicornH11Worker"] = Asgi,
        // The same classes as packaged since uvicorn 0.30 deprecated uvicorn.workers (PyPI uvicorn-worker); the
        // spelling of cookiecutter-django's ASGI start script (`-k uvicorn_worker.UvicornWorker`).
        ["uvicorn_worker.UvicornWorker"] = Asgi,
        ["uvicorn_worker.UvicornH11Worker"] = Asgi,
        // gevent_wsgi and gevent_pywsgi are Gunicorn's pywsgi-based variants; here HTTP is the server's own,
        // so every spelling runs the same greenlet host.
        [Gevent] = Gevent,
        ["gunicorn.workers.ggevent.GeventWorker"] = Gevent,
        ["egg:gunicorn#gevent"] = Gevent,
        ["gevent_wsgi"] = Gevent,
        ["gevent_pywsgi"] = Gevent,
        ["gunicorn.workers.ggevent.GeventPyWSGIWorker"] = Gevent,
        ["egg:gunicorn#gevent_wsgi"] = Gevent,
        ["egg:gunicorn#gevent_pywsgi"] = Gevent,
        [Eventlet] = Eventlet,
        ["gunicorn.workers.geventlet.EventletWorker"] = Eventlet,
        ["egg:gunicorn#eventlet"] = Eventlet,
        [Tornado] = Tornado,
        ["gunicorn.workers.gtornado.TornadoWorker"] = Tornado,
        ["egg:gunicorn#tornado"] = Tornado,
    };

    /// <summary>The names <see cref="Normalise"/> returns for a supported class.</summary>
    public static IReadOnlyCollection<string> Names { get; } = [.. s_spellings.Values.Distinct(StringComparer.Ordinal)];

    /// <summary>Every spelling accepted for <c>-k</c>/<c>worker_class</c>.</summary>
    public static IReadOnlyCollection<string> Spellings => s_spellings.Keys;

    /// <summary>The short name ("sync", "gevent"...) for the names Unicorn implements, otherwise the name as given.</summary>
    public static string Normalise(string name) => name is not null && s_spellings.TryGetValue(name, out var normal) ? normal : name!;

    /// <summary>Classes whose requests run as greenlets on one hub thread, with the library monkey-patched first.</summary>
    public static bool IsGreenlet(string name) => Normalise(name) is Gevent or Eventlet;

    /// <summary>
    /// The library a class's workers import first (null: none of note). Gunicorn's master imports it with the worker
    /// class, before it forks; eventlet's imports alone are most of a second of CPU.
    /// </summary>
    public static string? LibraryOf(string name) => Normalise(name) switch
    {
        Gevent => "gevent",
        Eventlet => "eventlet",
        _ => null,
    };

    /// <summary>Spelt as one of uvicorn's worker classes: the same host, with uvicorn's reading of forwarded clients.</summary>
    public static bool IsUvicorn(string name) => name is not null && (name.StartsWith("uvicorn.workers.", StringComparison.Ordinal) ||
        name.StartsWith("uvicorn_worker.", StringComparison.Ordinal)) && IsSupported(name);

    /// <summary>
    /// aiohttp's Gunicorn workers (aiohttp.GunicornWebWorker and its uvloop twin, also under aiohttp.worker): they run
    /// an aiohttp.web.Application, which no worker class here can call, so the refusal must not suggest one.
    /// </summary>
    public static bool IsAiohttp(string name) => name is not null && name.StartsWith("aiohttp.", StringComparison.Ordinal);

    /// <summary>
    /// gevent-websocket's Gunicorn worker (geventwebsocket.gunicorn.workers.GeventWebSocketWorker, Flask-SocketIO's
    /// documented websocket deployment): it gives the app the client socket, which no worker here does, so the
    /// refusal names what serves a Socket.IO app instead.
    /// </summary>
    public static bool IsGeventWebSocket(string name) => name is not null && name.StartsWith("geventwebsocket.", StringComparison.Ordinal);

    // worker_class = None in a config file arrives as null: refused like any other unknown name.
    public static bool IsSupported(string name) => name is not null && s_spellings.ContainsKey(name);
}
