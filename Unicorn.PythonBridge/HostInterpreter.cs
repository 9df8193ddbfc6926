using System.Runtime.InteropServices;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.PythonBridge;

/// <summary>
/// Whether this .NET runtime was started inside a running CPython (a worker the zygote forked, which
/// loads .NET through hostfxr): then the interpreter is the program itself, not a libpython to load.
/// </summary>
public static unsafe class HostInterpreter
{
    private static readonly Lazy<bool> s_running = new(Detect);

    /// <summary>True in a worker the zygote forked, whose program exports <c>Py_IsInitialized</c> and it answers yes.</summary>
    public static bool IsRunning => s_running.Value;

    private static bool Detect()
    {
        // The zygote says so: elsewhere a libpython loaded RTLD_GLOBAL would answer through the program's handle too.
        if (Environment.GetEnvironmentVariable(HandOver.ForkedWorker) != "1")
        {
            return false;
        }

        // python3 exports its C API so extension modules can link against it; the dotnet host does not.
        if (!NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "Py_IsInitialized", out var isInitialized))
        {
            return false;
        }

        return ((delegate* unmanaged<int>)isInitialized)() != 0;
    }
}
