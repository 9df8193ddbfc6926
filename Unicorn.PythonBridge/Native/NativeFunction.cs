using System.Runtime.InteropServices;
using Python.Runtime;

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

    /// <summary>An empty namespace object (types.SimpleNamespace) for a set of functions to be added to (GIL held).</summary>
    public static PyObject NewNamespace()
    {
        using var types = Py.Import("types");
        return types.InvokeMethod("SimpleNamespace");
    }

    /// <summary>Sets <paramref name="ns"/>.<paramref name="name"/> to a new function over <paramref name="method"/> (GIL held).</summary>
    public static void Add(PyObject ns, string name, void* method, int flags, nint self = 0)
    {
        var function = Create(name, method, flags, self);
        var attribute = CPython.Intern(name);
        var failed = CPython.PyObject_SetAttr(Handles.Of(ns), attribute, function) != 0;
        CPython.Py_DecRef(attribute);
        CPython.Py_DecRef(function);
        if (failed)
        {
            throw new InvalidOperationException($"cannot set the native function {name}");
        }
    }

    /// <summary>Sets a RuntimeError for <paramref name="e"/>, which must not reach native code, and returns NULL.</summary>
    public static nint Raise(Exception e) => Raise("unicorn: " + e.Message, CPython.PyExc_RuntimeError);

    /// <summary>Sets a Python error (RuntimeError unless <paramref name="type"/> is given) and returns NULL, the C function's failure.</summary>
    public static nint Raise(string message, nint type = 0)
    {
        CPython.SetError(type == 0 ? CPython.PyExc_RuntimeError : type, message);
        return 0;
    }
}
