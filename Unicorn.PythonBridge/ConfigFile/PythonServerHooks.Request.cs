using System.Text.Json;
using Python.Runtime;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;

namespace Unicorn.PythonBridge.ConfigFile;

// pre_request and post_request, called by the worker's app thread around the application. Gunicorn's req object is
// rebuilt from the parsed request only when one of these hooks is defined.
public sealed unsafe partial class PythonServerHooks
{
    public bool HasRequestHooks => _defined.Contains("pre_request") || _defined.Contains("post_request");

    /// <summary>
    /// Runs <c>pre_request(worker, req)</c>; throws <see cref="HookFailedException"/> (logged) if it raises. Returns the
    /// request as the hook left it when it changed what Gunicorn builds the environ from (<c>req.method</c>, <c>uri</c>,
    /// <c>path</c>, <c>query</c>, <c>headers</c>), else null.
    /// </summary>
    public WsgiRequest? PreRequest(HookWorker worker, WsgiRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_hooks is null || !_defined.Contains("pre_request"))
        {
            return null;
        }

        return CallRequestHook("pre_request", worker, request, null, 0) is { } rewrite ? Rewritten(request, rewrite) : null;
    }

    /// <summary><paramref name="request"/> with what pre_request set (call_request's JSON, see HookScript's <c>_rewrite</c>).</summary>
    internal static WsgiRequest Rewritten(WsgiRequest request, string json)
    {
        var r = JsonSerializer.Deserialize<RequestRewrite>(json)!;
        return request.Rewrite(r.method, r.uri, r.path, r.query, [.. r.headers.Select(h => new KeyValuePair<string, string>(h[0], h[1]))]);
    }

#pragma warning disable IDE1006, CA1812 // the JSON's names; built by the deserializer
    private sealed record RequestRewrite(string method, string uri, string path, string query, string[][] headers);
#pragma warning restore IDE1006, CA1812

    public bool HasPostRequest => _defined.Contains("post_request");

    /// <summary>The hooks' Python object, for the greenlet hub, which calls <c>call_request</c> from a greenlet.</summary>
    internal PyObject? PythonObject => _hooks;

    /// <summary>
    /// Runs <c>post_request(worker, req, environ, resp)</c> (or its 2- and 3-argument forms).
    /// <paramref name="environ"/> is the request's environ dict as a new reference, released here (holding the
    /// GIL) whatever happens, or 0 to pass None.
    /// </summary>
    internal void PostRequest(HookWorker worker, WsgiRequest request, string status,
        IReadOnlyList<KeyValuePair<string, string>> headers, long sent, nint environ)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(headers);
        if (_hooks is null || !HasPostRequest)
        {
            ReleaseEnviron(environ);
            return;
        }

        var response = new { status, headers = headers.Select(h => new[] { h.Key, h.Value }), sent };
        CallRequestHook("post_request", worker, request, response, environ);
    }

    /// <summary>
    /// post_request under -k asgi: resp.status is the int the app sent, as in Gunicorn's ASGI worker, and environ the
    /// small dict the loop built (the wrapper's reference stays the caller's).
    /// </summary>
    internal void PostAsgiRequest(HookWorker worker, WsgiRequest request, int status,
        IReadOnlyList<KeyValuePair<string, string>> headers, long sent, PyObject environ)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(environ);
        if (_hooks is null || !HasPostRequest)
        {
            return;
        }

        var response = new { status, headers = headers.Select(h => new[] { h.Key, h.Value }), sent };
        var reference = Handles.Of(environ);
        using (Py.GIL())
        {
            CPython.Py_IncRef(reference); // CallRequestHook releases one reference
        }

        CallRequestHook("post_request", worker, request, response, reference);
    }

    internal static object RequestSnapshot(WsgiRequest r) => new
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

    // Returns what call_request returns: for pre_request, JSON of the request it changed, else null.
    private string? CallRequestHook(string name, HookWorker worker, WsgiRequest request, object? response, nint environ)
    {
        var workerJson = JsonSerializer.Serialize(WorkerSnapshot(worker));
        string? returned = null;
        Run(name, hooks =>
        {
            using var environArg = environ != 0 ? Handles.Wrap(environ) : null;
            CPython.XDecRef(environ); // environArg holds its own reference now
            using var nameArg = new PyString(name);
            using var workerArg = new PyString(workerJson);
            using var requestArg = new PyString(JsonSerializer.Serialize(RequestSnapshot(request)));
            using var responseArg = new PyString(JsonSerializer.Serialize(response));
            using var result = hooks.InvokeMethod("call_request", nameArg, workerArg, requestArg, responseArg, environArg ?? PyObject.None);
            returned = result.IsNone() ? null : result.As<string>();
        });
        return returned;
    }

    private static void ReleaseEnviron(nint environ)
    {
        if (environ != 0)
        {
            using (Py.GIL())
            {
                CPython.Py_DecRef(environ);
            }
        }
    }
}
