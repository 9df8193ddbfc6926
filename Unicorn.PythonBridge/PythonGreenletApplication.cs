using Python.Runtime;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge;

/// <summary>
/// The imported app run as greenlets: the hub thread attaches to the interpreter once, then runs
/// <c>_unicorn_greenlet.run</c> (the library's loop) until the host stops it.
/// </summary>
internal sealed class PythonGreenletApplication(PythonWsgiApplication app, GreenletRequestHooks? hooks) : IGreenletApplication
{
    public void RunHub(IGreenletHub hub)
    {
        ArgumentNullException.ThrowIfNull(hub);
        using var thread = new PythonWsgiThread(app);
        string? failure = null;
        thread.RunWithGil(() => failure = Run(hub, thread));
        if (failure is not null)
        {
            throw new InvalidOperationException(failure);
        }
    }

    private unsafe string? Run(IGreenletHub hub, PythonWsgiThread thread)
    {
        GreenletCallbacks.Begin(hub, thread, app.Log, hooks);
        try
        {
            if (hooks is not null && !ConfigureHooks(hooks))
            {
                return thread.TakeTraceback();
            }

            using var run = GreenletModule.Module.GetAttr("run");
            var fd = CPython.PyLong_FromLongLong(hub.WakeFd);
            var library = CPython.FromLatin1Chars(hub.Library);
            var args = stackalloc nint[3] { app.App, fd, library };
            var result = CPython.PyObject_Vectorcall(Handles.Of(run), args, 3, 0);
            CPython.Py_DecRef(fd);
            CPython.Py_DecRef(library);
            if (result != 0)
            {
                CPython.Py_DecRef(result);
                return null;
            }

            return thread.TakeTraceback();
        }
        finally
        {
            GreenletCallbacks.End();
        }
    }

    // Spew traces the hub's thread, every greenlet included; the hooks object goes to the module, which calls it per request.
    private static unsafe bool ConfigureHooks(GreenletRequestHooks hooks)
    {
        if (hooks.Spew)
        {
            ConfigFile.Spew.InstallOnCurrentThread();
        }

        if (hooks.PythonHooks is not { } python)
        {
            return true;
        }

        using var configure = GreenletModule.Module.GetAttr("use_hooks");
        using var pre = hooks.HasPreRequest.ToPython();
        using var post = hooks.HasPostRequest.ToPython();
        var args = stackalloc nint[3] { Handles.Of(python), Handles.Of(pre), Handles.Of(post) };
        var result = CPython.PyObject_Vectorcall(Handles.Of(configure), args, 3, 0);
        CPython.XDecRef(result);
        return result != 0;
    }
}
