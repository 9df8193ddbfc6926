using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;

namespace Unicorn.PythonBridge.Tests.ConfigFile;

/// <summary>
/// The hooks' JSON shapes as anonymous objects, which the bridge serialised by reflection before the native build
/// needed hand-written JSON: what the tests hand HookScript directly, and what BridgeJsonTests holds the bridge's
/// writers to, byte for byte.
/// </summary>
internal static class HookShapes
{
    public static object Server(HookServer s) => new { server = new { pid = s.Pid, num_workers = s.NumWorkers } };

    public static object Worker(HookWorker w) => new { worker = WorkerSnapshot(w) };

    public static object WorkerSnapshot(HookWorker w) => new
    {
        pid = w.Pid,
        ppid = w.ParentPid,
        age = w.Age,
        alive = w.Alive,
        exitcode = w.ExitCode,
        nr = w.Requests,
        max_requests = w.MaxRequests,
        sockets = w.Sockets,
        tmp = w.TmpFd,
    };

    public static object Value(int? v) => new { value = v };

    public static object RequestSnapshot(WsgiRequest r) => new
    {
        method = r.Method,
        uri = r.RawUri,
        path = r.Path,
        query = r.Query,
        version = new[] { 1, r.VersionMinor },
        headers = r.Headers.Select(h => new[] { h.Key, h.Value }),
        scheme = r.UrlScheme,
        peer = r.RemoteEndPoint is { } ep ? new object[] { ep.Address.ToString(), ep.Port } : null,
    };
}
