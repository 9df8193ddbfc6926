using Python.Runtime;

namespace Unicorn.PythonBridge;

/// <summary>What a greenlet worker does in Python before its config file's callables and its app are imported.</summary>
public static class PythonGreenlets
{
    /// <summary>
    /// Monkey-patches the interpreter as Gunicorn's worker does (<c>gevent.monkey.patch_all()</c>,
    /// <c>eventlet.monkey_patch()</c>), so the app's sockets, sleeps and threads are cooperative from its first import.
    /// </summary>
    /// <exception cref="InvalidOperationException">the library is missing (the message names it, as Gunicorn's does) or patching failed.</exception>
    public static void Patch(PythonRuntime runtime, string library)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        runtime.RunWithGil(() =>
        {
            try
            {
                using (GreenletModule.Module.InvokeMethod("patch", new PyString(library)))
                {
                }
            }
            catch (PythonException e)
            {
                throw new InvalidOperationException(e.Message, e);
            }
        });
    }

    /// <summary>
    /// Makes the calling thread, the hub's, the one the library counts as the worker's main thread, as Gunicorn's worker
    /// runs its hub on its main thread: under gevent only that thread's loop can watch children (<c>subprocess</c>).
    /// Called on the hub's thread before anything there asks for a hub.
    /// </summary>
    public static void AdoptHubThread(PythonRuntime runtime, string library)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        runtime.RunWithGil(() =>
        {
            using (GreenletModule.Module.InvokeMethod("adopt_thread", new PyString(library)))
            {
            }
        });
    }

    /// <summary>Every suspended greenlet's stack, for the timeout/abort dump; "" when there are none or the GIL is not free in time.</summary>
    public static string DumpStacks(PythonRuntime runtime, TimeSpan gilTimeout)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var text = "";
        var thread = new Thread(() =>
        {
            try
            {
                text = runtime.RunWithGil(() =>
                {
                    using var stacks = GreenletModule.Module.InvokeMethod("stacks");
                    return stacks.ToString() ?? "";
                });
            }
            catch (PythonException e)
            {
                text = "(greenlet stacks unavailable: " + e.Message + ")";
            }
        })
        { IsBackground = true, Name = "unicorn-greenlet-dump" };
        thread.Start();
        return thread.Join(gilTimeout) ? text : "(greenlet stacks unavailable: the GIL was not released in time)";
    }
}
