using System.Runtime.InteropServices;
using Python.Runtime;

namespace Unicorn.PythonBridge;

public sealed unsafe partial class PythonRuntime
{
    /// <summary>
    /// The current stack of every Python thread, as faulthandler prints it ("Thread 0x... (most recent
    /// call first)"), for the timeout/abort path (<c>worker_abort</c>, "WORKER TIMEOUT"). Where libpython
    /// exports faulthandler's dump function (3.11, 3.12, 3.14+) no GIL is needed, so it works even while a
    /// stuck request holds it; otherwise the GIL is waited for up to <paramref name="gilTimeout"/>.
    /// </summary>
    public string DumpThreadStacks(TimeSpan? gilTimeout = null)
    {
        var path = Path.Combine(Path.GetTempPath(), $"unicorn-stacks-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (var file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite))
            {
                var fd = (int)file.DangerousGetHandle();
                var error = TryDumpWithoutGil(fd) ?? DumpWithGil(fd, gilTimeout ?? TimeSpan.FromSeconds(2));
                if (error.Length > 0)
                {
                    return "(Python stacks unavailable: " + error + ")";
                }
            }

            return File.ReadAllText(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Null when the export is missing; "" on success; else the error faulthandler reported.</summary>
    private string? TryDumpWithoutGil(int fd)
    {
        var lib = NativeLibrary.Load(Installation.LibPython);
        if ((!NativeLibrary.TryGetExport(lib, "_Py_DumpTracebackThreads", out var dump)
                && !NativeLibrary.TryGetExport(lib, "PyUnstable_DumpTracebackThreads", out dump))
            || !NativeLibrary.TryGetExport(lib, "PyInterpreterState_Main", out var main))
        {
            return null;
        }

        var error = ((delegate* unmanaged<int, nint, nint, byte*>)dump)(fd, ((delegate* unmanaged<nint>)main)(), 0);
        return error == null ? "" : Marshal.PtrToStringUTF8((nint)error) ?? "unknown error";
    }

    private string DumpWithGil(int fd, TimeSpan timeout)
    {
        if (_shutDown)
        {
            return "the interpreter has shut down";
        }

        var error = "the GIL was not released in time";
        var thread = new Thread(() =>
        {
            try
            {
                using (Py.GIL())
                {
                    using var faulthandler = Py.Import("faulthandler");
                    using var allThreads = new PyDict();
                    allThreads["all_threads"] = PyObject.FromManagedObject(true);
                    using var fdObject = new PyInt(fd);
                    using (faulthandler.GetAttr("dump_traceback").Invoke([fdObject], allThreads))
                    {
                    }
                }

                error = "";
            }
            catch (PythonException e)
            {
                error = e.Message;
            }
        })
        { IsBackground = true, Name = "unicorn-stack-dump" };
        thread.Start();
        return thread.Join(timeout) ? error : "the GIL was not released in time";
    }
}
