using Python.Runtime;

namespace Unicorn.PythonBridge.Native;

/// <summary>The raw PyObject* behind a pythonnet wrapper, for the C-API path (the wrapper keeps the reference).</summary>
internal static unsafe class Handles
{
#pragma warning disable CS0612 // PyObject.Handle is the documented way to reach the pointer in pythonnet 3.
    public static nint Of(PyObject o) => o.Handle;
#pragma warning restore CS0612

    /// <summary>
    /// A pythonnet wrapper (its own reference) for a raw PyObject* from the C-API path; hold the GIL. pythonnet 3 has
    /// no public constructor for that, so the object passes through a dict, whose indexer wraps what it returns.
    /// </summary>
    public static PyObject Wrap(nint o)
    {
        using var cell = new PyDict();
        using var key = new PyInt(0);
        if (CPython.PyDict_SetItem(Of(cell), Of(key), o) != 0)
        {
            CPython.PyErr_Clear();
            throw new OutOfMemoryException("could not store a Python object in a dict"); // the only way an int key fails
        }

        return cell[key];
    }
}
