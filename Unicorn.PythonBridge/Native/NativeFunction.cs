using System.Runtime.InteropServices;

namespace Unicorn.PythonBridge.Native;

/// <summary>
/// Python builtin functions implemented by C# static methods: a PyCFunction over a
/// [UnmanagedCallersOnly] method keeps the GIL and costs about what a C extension call costs,
/// unlike pythonnet's callbacks (which release the GIL and allocate wrappers).
/// </summary>
internal static unsafe class NativeFunction
{
    [StructLayout(LayoutKind.Sequential)]
    private struct PyMethodDef
    {
        public byte* Name;
        public void* Method;
        public int Flags;
        public byte* Doc;
    }

    /// <summary>A new reference to a builtin function; its PyMethodDef lives for the process, as CPython requires.</summary>
    public static nint Create(string name, void* method, int flags) => Create(name, method, flags, 0);

    /// <summary>As <see cref="Create(string, void*, int)"/>, with <paramref name="self"/> (borrowed) as the C function's first argument.</summary>
    public static nint Create(string name, void* method, int flags, nint self)
    {
        var def = (PyMethodDef*)NativeMemory.AllocZeroed((nuint)sizeof(PyMethodDef));
        def->Name = (byte*)Marshal.StringToCoTaskMemUTF8(name);
        def->Method = method;
        def->Flags = flags;
        var function = CPython.PyCFunction_NewEx((nint)def, self, 0);
        return function != 0 ? function : throw new InvalidOperationException($"PyCFunction_NewEx failed for {name}");
    }
}
