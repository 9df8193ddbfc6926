using Python.Runtime;

namespace Unicorn.PythonBridge.Native;

/// <summary>The raw PyObject* behind a pythonnet wrapper, for the C-API path (the wrapper keeps the reference).</summary>
internal static class Handles
{
#pragma warning disable CS0612 // PyObject.Handle is the documented way to reach the pointer in pythonnet 3.
    public static nint Of(PyObject o) => o.Handle;
#pragma warning restore CS0612
}
