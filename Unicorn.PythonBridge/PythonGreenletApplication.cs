using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge;

/// <summary>
/// The imported app run as greenlets: the hub thread attaches to the interpreter once, then runs
/// <c>_unicorn_greenlet.run</c> (the library's loop) until the host stops it.
/// </summary>
internal sealed class PythonGreenletApplication(PythonWsgiApplication app) : IGreenletApplication
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
        GreenletCallbacks.Begin(hub, thread, app.Log);
        try
        {
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
}
