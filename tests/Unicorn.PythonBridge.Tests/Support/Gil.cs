using System.Runtime.InteropServices;

namespace Unicorn.PythonBridge.Tests.Support;

/// <summary>Asks CPython whether the calling thread holds the GIL.</summary>
public static unsafe class Gil
{
    public static bool IsHeld()
    {
        var lib = NativeLibrary.Load(PythonRuntime.Current.Installation.LibPython);
        var check = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "PyGILState_Check");
        return check() != 0;
    }
}
