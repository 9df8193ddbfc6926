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
        var r = JsonSerializer.Deserialize(json, BridgeJsonContext.Default.RequestRewrite)!;
        return request.Rewrite(r.method, r.uri, r.path, r.query, [.. r.headers.Select(h => new KeyValuePair<string, string>(h[0], h[1]))]);
    }

#pragma warning disable IDE1006, CA1812 // the JSON's names; built by the deserializer
    internal sealed record RequestRewrite(string method, string uri, string path, string query, string[][] headers);
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

        CallRequestHook("post_request", worker, request, ResponseJson(status, null, headers, sent), environ);
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

        var response = ResponseJson(null, status, headers, sent);
        var reference = Handles.Of(environ);
        using (Py.GIL())
        {
            CPython.Py_IncRef(reference); // CallRequestHook releases one reference
        }

        CallRequestHook("post_request", worker, request, response, reference);
    }

    /// <summary>The request hooks' <c>req</c> (HookScript's <c>_Request</c> reads these names).</summary>
    internal static string RequestSnapshotJson(WsgiRequest r)
    {
        var w = BridgeJson.Start();
        w.WriteStartObject();
        w.WriteString("method", r.Method);
        w.WriteString("uri", r.RawUri);
        w.WriteString("path", r.Path);
        w.WriteString("query", r.Query);
        w.WriteStartArray("version");
        w.WriteNumberValue(1);
        w.WriteNumberValue(r.VersionMinor);
        w.WriteEndArray();
        WriteHeaders(w, r.Headers);
        w.WriteString("scheme", r.UrlScheme);
        if (r.RemoteEndPoint is { } ep)
        {
            w.WriteStartArray("peer");
            w.WriteStringValue(ep.Address.ToString());
            w.WriteNumberValue(ep.Port);
            w.WriteEndArray();
        }
        else
        {
            w.WriteNull("peer");
        }

        w.WriteEndObject();
        return BridgeJson.Finish(w);
    }

    /// <summary>post_request's <c>resp</c>: its status is the status line (WSGI) or the int the app sent (ASGI).</summary>
    internal static string ResponseJson(string? statusLine, int? statusCode, IReadOnlyList<KeyValuePair<string, string>> headers, long sent)
    {
        var w = BridgeJson.Start();
        w.WriteStartObject();
        if (statusLine is not null)
        {
            w.WriteString("status", statusLine);
        }
        else
        {
            w.WriteNumber("status", statusCode.GetValueOrDefault());
        }

        WriteHeaders(w, headers);
        w.WriteNumber("sent", sent);
        w.WriteEndObject();
        return BridgeJson.Finish(w);
    }

    /// <summary><c>"headers": [[name, value], ...]</c>.</summary>
    internal static void WriteHeaders(Utf8JsonWriter w, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        w.WriteStartArray("headers");
        for (var i = 0; i < headers.Count; i++)
        {
            var (name, value) = headers[i];
            w.WriteStartArray();
            w.WriteStringValue(name);
            w.WriteStringValue(value);
            w.WriteEndArray();
        }

        w.WriteEndArray();
    }

    // Returns what call_request returns: for pre_request, JSON of the request it changed, else null. responseJson: null
    // for pre_request.
    private string? CallRequestHook(string name, HookWorker worker, WsgiRequest request, string? responseJson, nint environ)
    {
        var workerJson = WorkerSnapshotJson(worker);
        var requestJson = RequestSnapshotJson(request);
        string? returned = null;
        Run(name, hooks =>
        {
            using var environArg = environ != 0 ? Handles.Wrap(environ) : null;
            CPython.XDecRef(environ); // environArg holds its own reference now
            using var nameArg = new PyString(name);
            using var workerArg = new PyString(workerJson);
            using var requestArg = new PyString(requestJson);
            using var responseArg = new PyString(responseJson ?? "null");
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
