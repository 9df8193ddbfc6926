using System.Runtime.InteropServices;
using Python.Runtime;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Config;

namespace Unicorn.PythonBridge.ConfigFile;

/// <summary>
/// The master's live state for the hooks' <c>server</c> objects (<c>WORKERS</c>, <c>LISTENERS</c>, <c>num_workers</c>):
/// one per process, so a thread <c>when_ready</c> started keeps seeing the master after a HUP has loaded new hooks.
/// The arbiter's thread stores it as JSON when it changes; Python reads it through <c>master()</c>, without a lock or
/// a call into the arbiter, from whichever thread asks. A worker never stores one: its <c>server</c> shows none.
/// </summary>
public sealed partial class PythonServerHooks
{
    private static volatile string? s_masterState;

    public void MasterChanged(HookMasterState state) => s_masterState = MasterStateJson(state);

    /// <summary>What <c>master()</c> returns for <paramref name="state"/>.</summary>
    internal static string MasterStateJson(HookMasterState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var w = BridgeJson.Start();
        w.WriteStartObject();
        w.WriteNumber("num_workers", state.NumWorkers);
        w.WriteStartArray("workers");
        foreach (var worker in state.Workers)
        {
            WriteWorkerSnapshot(w, worker);
        }

        w.WriteEndArray();
        w.WriteStartArray("listeners");
        foreach (var listener in state.Listeners)
        {
            w.WriteStartObject();
            w.WriteNumber("fd", listener.Fd);
            w.WriteString("name", listener.Name);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString("proc_name", state.ProcName);
        w.WriteEndObject();
        return BridgeJson.Finish(w);
    }

    /// <summary>A namespace whose <c>master()</c> returns that JSON, or None before the master has any (GIL held).</summary>
    private static unsafe PyObject MasterStateNamespace()
    {
        var ns = NativeFunction.NewNamespace();
        NativeFunction.Add(ns, "master", (delegate* unmanaged<nint, nint, nint>)&MasterState, CPython.METH_NOARGS);
        return ns;
    }

    [UnmanagedCallersOnly]
    private static nint MasterState(nint self, nint unused)
    {
        try
        {
            // JsonSerializer escapes every non-ASCII character, so the text is latin-1.
            return s_masterState is { } json ? CPython.FromLatin1Chars(json) : CPython.NewRef(CPython.Py_None);
        }
        catch (Exception e)
        {
            return NativeFunction.Raise(e);
        }
    }
}
