using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge;

internal sealed unsafe partial class PythonWsgiThread
{
    private nint _greenletIdKey;

    /// <summary>Runs <paramref name="action"/> holding the GIL on this thread (the hub's whole loop).</summary>
    internal void RunWithGil(Action action)
    {
        AcquireGil();
        try
        {
            action();
        }
        finally
        {
            ReleaseGil();
        }
    }

    /// <summary>Fetches and clears the current Python exception as traceback text (GIL held).</summary>
    internal string TakeTraceback() => FetchTraceback();

    /// <summary>
    /// environ for a greenlet's request, with its id under "unicorn.id" (the hub pops it before the app sees
    /// environ). New reference, or 0 with a Python error set.
    /// </summary>
    internal nint BuildGreenletEnviron(WsgiRequest request, long id)
    {
        if (_greenletIdKey == 0)
        {
            _greenletIdKey = CPython.Intern("unicorn.id");
        }

        var env = BuildEnviron(request);
        if (env == 0)
        {
            return 0;
        }

        var value = CPython.PyLong_FromLongLong(id);
        if (value == 0 || CPython.PyDict_SetItem(env, _greenletIdKey, value) != 0)
        {
            CPython.XDecRef(value);
            CPython.Py_DecRef(env);
            return 0;
        }

        CPython.Py_DecRef(value);
        return env;
    }
}
