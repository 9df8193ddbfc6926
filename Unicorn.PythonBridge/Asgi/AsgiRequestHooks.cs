using Python.Runtime;
using Unicorn.PythonBridge.ConfigFile;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;

namespace Unicorn.PythonBridge.Asgi;

/// <summary>
/// What the config file adds to each request under -k asgi, as Gunicorn's ASGI worker runs it on its loop:
/// <c>pre_request(worker, req)</c> before the app (one that raises is logged and the request answered 500),
/// <c>post_request(worker, req, environ, resp)</c> after it, whatever happened (one that raises is only logged),
/// both for http scopes only; and <c>--spew</c>, traced on the loop thread.
/// </summary>
public sealed class AsgiRequestHooks(PythonServerHooks? hooks, bool spew, Func<HookWorker> worker)
{
    private readonly PythonServerHooks? _hooks = hooks is { HasRequestHooks: true } ? hooks : null;

    public bool Spew => spew;

    internal bool HasPreRequest => _hooks?.IsDefined("pre_request") == true;

    internal bool HasPostRequest => _hooks?.HasPostRequest == true;

    /// <summary>Runs pre_request; false when it raised (its traceback is logged).</summary>
    internal bool PreRequest(WsgiRequest request)
    {
        try
        {
            // Gunicorn's ASGI worker builds its scope without what pre_request set on req: the rewrite is dropped.
            _ = _hooks?.PreRequest(worker(), request);
            return true;
        }
        catch (HookFailedException)
        {
            return false;
        }
    }

    /// <summary>Runs post_request with Gunicorn's ASGI resp (status as an int) and the minimal environ it builds.</summary>
    internal void PostRequest(WsgiRequest request, int status, IReadOnlyList<KeyValuePair<string, string>> headers, long sent, PyObject environ)
    {
        try
        {
            _hooks?.PostAsgiRequest(worker(), request, status, headers, sent, environ);
        }
        catch (HookFailedException)
        {
            // Logged with its traceback ("Exception in post_request hook"); the response is the app's.
        }
    }
}
