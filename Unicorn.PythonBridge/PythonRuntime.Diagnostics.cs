using System.Runtime.InteropServices;

namespace Unicorn.PythonBridge;

public sealed unsafe partial class PythonRuntime
{
    /// <summary>
    /// The current stack of every Python thread, as faulthandler prints it ("Thread 0x... (most recent
    /// call first)"). Needs no GIL, so it works while a stuck request holds it: for the timeout/abort
    /// path (<c>worker_abort</c>, "WORKER TIMEOUT").
    /// </summary>
    public string DumpThreadStacks()
    {
        var lib = NativeLibrary.Load(Installation.LibPython);
        var dump = (delegate* unmanaged<int, nint, nint, byte*>)NativeLibrary.GetExport(lib, "_Py_DumpTracebackThreads");
        var mainInterpreter = (delegate* unmanaged<nint>)NativeLibrary.GetExport(lib, "PyInterpreterState_Main");

        var path = Path.Combine(Path.GetTempPath(), $"unicorn-stacks-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (var file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite))
            {
                var error = dump((int)file.DangerousGetHandle(), mainInterpreter(), 0);
                if (error != null)
                {
                    return "(Python stacks unavailable: " + Marshal.PtrToStringUTF8((nint)error) + ")";
                }
            }

            return File.ReadAllText(path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
