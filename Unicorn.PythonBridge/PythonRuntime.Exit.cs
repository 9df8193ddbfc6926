using System.Reflection;
using Python.Runtime;

namespace Unicorn.PythonBridge;

public sealed unsafe partial class PythonRuntime
{
    private static bool s_exitHandlerDetached;

    /// <summary>
    /// pythonnet shuts down from AppDomain.ProcessExit on the finalizer thread, taking the GIL; if any
    /// thread holds it then, exit deadlocks (measured). <see cref="Shutdown"/> does the useful part of that
    /// work on the right thread, so the handler is removed.
    /// </summary>
    private static void DetachPythonnetExitHandler()
    {
        var method = typeof(PythonEngine).GetMethod("OnProcessExit", BindingFlags.NonPublic | BindingFlags.Static);
        if (method is null)
        {
            return;
        }

        var handler = (EventHandler)Delegate.CreateDelegate(typeof(EventHandler), method);
        AppDomain.CurrentDomain.ProcessExit -= handler;
        s_exitHandlerDetached = true;
    }
}
