using Python.Runtime;
using Unicorn.PythonBridge.ConfigFile;
using Unicorn.Wsgi.Config;

namespace Unicorn.PythonBridge;

/// <summary>
/// What the config asks of a greenlet worker's requests: <c>pre_request</c>/<c>post_request</c>, run by the request's
/// greenlet in Python (as Gunicorn's async workers run them, so a hook may yield), and the <c>--spew</c> tracer on the
/// hub thread. The hooks' Python object is called from <c>_unicorn_greenlet</c> directly: no .NET frame is on the
/// greenlet's stack while a hook runs.
/// </summary>
public sealed class GreenletRequestHooks(PythonServerHooks? hooks, bool spew, Func<HookWorker> worker)
{
    /// <summary>Whether these settings and hooks ask anything of a greenlet's request.</summary>
    public static bool IsNeeded(Settings settings, PythonServerHooks? hooks) => HookedApplication.IsNeeded(settings, hooks);

    internal bool Spew => spew;

    internal bool HasPreRequest => hooks?.IsDefined("pre_request") == true;

    internal bool HasPostRequest => hooks?.HasPostRequest == true;

    /// <summary>The config file's hooks object (GIL held), or null without request hooks.</summary>
    internal PyObject? PythonHooks => hooks is { HasRequestHooks: true } ? hooks.PythonObject : null;

    /// <summary>The worker object's snapshot, as the threaded host's hooks see it.</summary>
    internal HookWorker Worker() => worker();
}
