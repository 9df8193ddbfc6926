using System.Runtime.InteropServices;

namespace Unicorn.PythonBridge.Native;

/// <summary>
/// The few CPython C-API functions the request path calls, as function pointers resolved from the
/// libpython pythonnet already loaded. pythonnet's wrappers cost more than these calls themselves
/// (DESIGN.md, "The C#/Python boundary"). Names are the C names. Every call needs the GIL; a returned
/// new reference is the caller's to <see cref="Py_DecRef"/>.
/// </summary>
internal static unsafe class CPython
{
    public const int PyUnicode_2BYTE_KIND = 2;
    public const int METH_NOARGS = 0x0004;
    public const int METH_FASTCALL = 0x0080;

    public static delegate* unmanaged<nint, void> Py_IncRef;
    public static delegate* unmanaged<nint, void> Py_DecRef;

    public static delegate* unmanaged<nint> PyEval_SaveThread;
    public static delegate* unmanaged<nint, void> PyEval_RestoreThread;
    public static delegate* unmanaged<int> PyGILState_Ensure;
    public static delegate* unmanaged<int, void> PyGILState_Release;

    public static delegate* unmanaged<nint> PyDict_New;
    public static delegate* unmanaged<nint, nint> PyDict_Copy;
    public static delegate* unmanaged<nint, nint, nint, int> PyDict_SetItem;
    public static delegate* unmanaged<nint, nint, nint> PyDict_GetItemWithError;

    public static delegate* unmanaged<int, void*, nint, nint> PyUnicode_FromKindAndData;
    public static delegate* unmanaged<byte*, nint> PyUnicode_InternFromString;
    public static delegate* unmanaged<nint, nint*, byte*> PyUnicode_AsUTF8AndSize;
    public static delegate* unmanaged<nint, nint, nint> PyUnicode_Concat;
    public static delegate* unmanaged<byte*, nint, byte*, nint> PyUnicode_DecodeUTF8;

    public static delegate* unmanaged<byte*, nint, nint> PyBytes_FromStringAndSize;
    public static delegate* unmanaged<nint, byte**, nint*, int> PyBytes_AsStringAndSize;
    public static delegate* unmanaged<nint*, nint, int> _PyBytes_Resize;

    public static delegate* unmanaged<long, nint> PyLong_FromLongLong;
    public static delegate* unmanaged<nint, long> PyLong_AsLongLong;

    public static delegate* unmanaged<nint, nint*, nuint, nint, nint> PyObject_Vectorcall;
    public static delegate* unmanaged<nint, nint> PyObject_CallNoArgs;
    public static delegate* unmanaged<nint, nint, nint> PyObject_GetAttr;
    public static delegate* unmanaged<nint, nint, nint, int> PyObject_SetAttr;
    public static delegate* unmanaged<nint, nint> PyObject_GetIter;
    public static delegate* unmanaged<nint, nint> PyIter_Next;

    public static delegate* unmanaged<nint, nint> PyList_New;
    public static delegate* unmanaged<nint, nint, nint, int> PyList_SetItem;
    public static delegate* unmanaged<nint, nint> PyList_Size;
    public static delegate* unmanaged<nint, nint, nint> PyList_GetItem;
    public static delegate* unmanaged<nint, nint> PyTuple_Size;
    public static delegate* unmanaged<nint, nint, nint> PyTuple_GetItem;
    public static delegate* unmanaged<nint, nint> PyTuple_New;
    public static delegate* unmanaged<nint, nint, nint, int> PyTuple_SetItem;

    public static delegate* unmanaged<nint> PyErr_Occurred;
    public static delegate* unmanaged<nint*, nint*, nint*, void> PyErr_Fetch;
    public static delegate* unmanaged<nint*, nint*, nint*, void> PyErr_NormalizeException;
    public static delegate* unmanaged<nint, nint, int> PyException_SetTraceback;
    public static delegate* unmanaged<void> PyErr_Clear;
    public static delegate* unmanaged<nint*, nint*, nint*, void> PyErr_GetExcInfo;
    public static delegate* unmanaged<nint, nint, nint, void> PyErr_SetExcInfo;
    public static delegate* unmanaged<nint, byte*, void> PyErr_SetString;

    public static delegate* unmanaged<nint, nint, nint, nint> PyCFunction_NewEx;

    // Objects and types exported as data.
    public static nint Py_None;
    public static nint Py_True;
    public static nint Py_False;
    public static nint Py_NotImplemented;
    public static nint PyList_Type;
    public static nint PyTuple_Type;
    public static nint PyBytes_Type;
    public static nint PyUnicode_Type;
    public static nint PyExc_TypeError;
    public static nint PyExc_OSError;
    public static nint PyExc_RuntimeError;

    private static bool s_loaded;

    /// <summary>
    /// Resolves every pointer from the libpython at <paramref name="libraryPath"/>, or from this process's
    /// own program when it is null (a worker forked by the zygote runs inside python3) (idempotent).
    /// </summary>
    public static void Load(string? libraryPath)
    {
        if (s_loaded)
        {
            return;
        }

        var lib = libraryPath is null ? NativeLibrary.GetMainProgramHandle() : NativeLibrary.Load(libraryPath);
        nint F(string name) => NativeLibrary.GetExport(lib, name);
        nint Data(string name) => NativeLibrary.GetExport(lib, name);
        nint Exc(string name) => *(nint*)NativeLibrary.GetExport(lib, name);

        Py_IncRef = (delegate* unmanaged<nint, void>)F("Py_IncRef");
        Py_DecRef = (delegate* unmanaged<nint, void>)F("Py_DecRef");
        PyEval_SaveThread = (delegate* unmanaged<nint>)F("PyEval_SaveThread");
        PyEval_RestoreThread = (delegate* unmanaged<nint, void>)F("PyEval_RestoreThread");
        PyGILState_Ensure = (delegate* unmanaged<int>)F("PyGILState_Ensure");
        PyGILState_Release = (delegate* unmanaged<int, void>)F("PyGILState_Release");
        PyDict_New = (delegate* unmanaged<nint>)F("PyDict_New");
        PyDict_Copy = (delegate* unmanaged<nint, nint>)F("PyDict_Copy");
        PyDict_SetItem = (delegate* unmanaged<nint, nint, nint, int>)F("PyDict_SetItem");
        PyDict_GetItemWithError = (delegate* unmanaged<nint, nint, nint>)F("PyDict_GetItemWithError");
        PyUnicode_FromKindAndData = (delegate* unmanaged<int, void*, nint, nint>)F("PyUnicode_FromKindAndData");
        PyUnicode_InternFromString = (delegate* unmanaged<byte*, nint>)F("PyUnicode_InternFromString");
        PyUnicode_AsUTF8AndSize = (delegate* unmanaged<nint, nint*, byte*>)F("PyUnicode_AsUTF8AndSize");
        PyUnicode_Concat = (delegate* unmanaged<nint, nint, nint>)F("PyUnicode_Concat");
        PyUnicode_DecodeUTF8 = (delegate* unmanaged<byte*, nint, byte*, nint>)F("PyUnicode_DecodeUTF8");
        PyBytes_FromStringAndSize = (delegate* unmanaged<byte*, nint, nint>)F("PyBytes_FromStringAndSize");
        PyBytes_AsStringAndSize = (delegate* unmanaged<nint, byte**, nint*, int>)F("PyBytes_AsStringAndSize");
        _PyBytes_Resize = (delegate* unmanaged<nint*, nint, int>)F("_PyBytes_Resize");
        PyLong_FromLongLong = (delegate* unmanaged<long, nint>)F("PyLong_FromLongLong");
        PyLong_AsLongLong = (delegate* unmanaged<nint, long>)F("PyLong_AsLongLong");
        PyObject_Vectorcall = (delegate* unmanaged<nint, nint*, nuint, nint, nint>)F("PyObject_Vectorcall");
        PyObject_CallNoArgs = (delegate* unmanaged<nint, nint>)F("PyObject_CallNoArgs");
        PyObject_GetAttr = (delegate* unmanaged<nint, nint, nint>)F("PyObject_GetAttr");
        PyObject_SetAttr = (delegate* unmanaged<nint, nint, nint, int>)F("PyObject_SetAttr");
        PyObject_GetIter = (delegate* unmanaged<nint, nint>)F("PyObject_GetIter");
        PyIter_Next = (delegate* unmanaged<nint, nint>)F("PyIter_Next");
        PyList_New = (delegate* unmanaged<nint, nint>)F("PyList_New");
        PyList_SetItem = (delegate* unmanaged<nint, nint, nint, int>)F("PyList_SetItem");
        PyList_Size = (delegate* unmanaged<nint, nint>)F("PyList_Size");
        PyList_GetItem = (delegate* unmanaged<nint, nint, nint>)F("PyList_GetItem");
        PyTuple_Size = (delegate* unmanaged<nint, nint>)F("PyTuple_Size");
        PyTuple_GetItem = (delegate* unmanaged<nint, nint, nint>)F("PyTuple_GetItem");
        PyTuple_New = (delegate* unmanaged<nint, nint>)F("PyTuple_New");
        PyTuple_SetItem = (delegate* unmanaged<nint, nint, nint, int>)F("PyTuple_SetItem");
        PyErr_Occurred = (delegate* unmanaged<nint>)F("PyErr_Occurred");
        PyErr_Fetch = (delegate* unmanaged<nint*, nint*, nint*, void>)F("PyErr_Fetch");
        PyErr_NormalizeException = (delegate* unmanaged<nint*, nint*, nint*, void>)F("PyErr_NormalizeException");
        PyException_SetTraceback = (delegate* unmanaged<nint, nint, int>)F("PyException_SetTraceback");
        PyErr_Clear = (delegate* unmanaged<void>)F("PyErr_Clear");
        PyErr_GetExcInfo = (delegate* unmanaged<nint*, nint*, nint*, void>)F("PyErr_GetExcInfo");
        PyErr_SetExcInfo = (delegate* unmanaged<nint, nint, nint, void>)F("PyErr_SetExcInfo");
        PyErr_SetString = (delegate* unmanaged<nint, byte*, void>)F("PyErr_SetString");
        PyCFunction_NewEx = (delegate* unmanaged<nint, nint, nint, nint>)F("PyCFunction_NewEx");

        Py_None = Data("_Py_NoneStruct");
        Py_True = Data("_Py_TrueStruct");
        Py_False = Data("_Py_FalseStruct");
        Py_NotImplemented = Data("_Py_NotImplementedStruct");
        PyList_Type = Data("PyList_Type");
        PyTuple_Type = Data("PyTuple_Type");
        PyBytes_Type = Data("PyBytes_Type");
        PyUnicode_Type = Data("PyUnicode_Type");
        PyExc_TypeError = Exc("PyExc_TypeError");
        PyExc_OSError = Exc("PyExc_OSError");
        PyExc_RuntimeError = Exc("PyExc_RuntimeError");
        s_loaded = true;
    }

    /// <summary>Py_TYPE(o): ob_type follows the reference count in every non-free-threaded build.</summary>
    public static nint TypeOf(nint o) => *(nint*)(o + sizeof(nint));

    /// <summary>A new str from a string of latin-1 chars (no encode step: CPython narrows UCS-2 itself).</summary>
    public static nint FromLatin1Chars(ReadOnlySpan<char> chars)
    {
        fixed (char* p = chars)
        {
            return PyUnicode_FromKindAndData(PyUnicode_2BYTE_KIND, p, chars.Length);
        }
    }

    /// <summary>
    /// A new bytes object of <paramref name="length"/> bytes for C# to fill (no other Python code can see it yet,
    /// so the GIL need not be held while it is written), and its buffer; 0 with a Python error set.
    /// </summary>
    public static nint NewBytes(int length, out byte* buffer)
    {
        byte* data = null;
        nint capacity;
        var bytes = PyBytes_FromStringAndSize(null, length);
        if (bytes != 0)
        {
            PyBytes_AsStringAndSize(bytes, &data, &capacity);
        }

        buffer = data;
        return bytes;
    }

    /// <summary>
    /// <paramref name="bytes"/> (from <see cref="NewBytes"/>, <paramref name="allocated"/> long) cut to the
    /// <paramref name="length"/> bytes written; 0 with a Python error set (the object freed) if it cannot be cut.
    /// </summary>
    public static nint CutBytes(nint bytes, int length, int allocated) =>
        length == allocated || _PyBytes_Resize(&bytes, length) == 0 ? bytes : 0;

    /// <summary>An interned str, for dictionary keys and attribute names that live for the process.</summary>
    public static nint Intern(string ascii)
    {
        var bytes = new byte[ascii.Length + 1];
        for (var i = 0; i < ascii.Length; i++)
        {
            bytes[i] = (byte)ascii[i];
        }

        fixed (byte* p = bytes)
        {
            return PyUnicode_InternFromString(p);
        }
    }

    public static nint NewRef(nint o)
    {
        Py_IncRef(o);
        return o;
    }

    public static void XDecRef(nint o)
    {
        if (o != 0)
        {
            Py_DecRef(o);
        }
    }

    public static void SetError(nint type, string message)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(message + "\0");
        fixed (byte* p = bytes)
        {
            PyErr_SetString(type, p);
        }
    }

    /// <summary>Reads a str as a .NET string (through its cached UTF-8 form); null with a Python error set if not a str.</summary>
    public static string? ToStringOrNull(nint str)
    {
        nint size;
        var p = PyUnicode_AsUTF8AndSize(str, &size);
        return p == null ? null : System.Text.Encoding.UTF8.GetString(p, checked((int)size));
    }
}
