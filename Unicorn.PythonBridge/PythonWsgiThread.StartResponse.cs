using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge;

internal sealed unsafe partial class PythonWsgiThread
{

    /// <summary>Hands status and headers from start_response (if it was called since last time) to the sink.</summary>
    private Outcome ApplyPending()
    {
        var pending = CPython.PyObject_GetAttr(_startResponse, _keys.Pending);
        if (pending == 0)
        {
            return Outcome.PythonError;
        }

        try
        {
            if (pending == CPython.Py_None)
            {
                return Outcome.Done;
            }

            if (CPython.PyObject_SetAttr(_startResponse, _keys.Pending, CPython.Py_None) != 0)
            {
                return Outcome.PythonError;
            }

            // The shim checked the types: a str and a list (or their subclasses).
            var status = CPython.ToStringOrNull(CPython.PyTuple_GetItem(pending, 0));
            if (status is null || !IsLatin1(status))
            {
                return Invalid("the status is not a latin-1 str");
            }

            var list = CPython.PyTuple_GetItem(pending, 1);
            var count = CPython.PyList_Size(list);
            var headers = new List<KeyValuePair<string, string>>((int)count);
            long contentLength = -1;
            for (var i = 0; i < count; i++)
            {
                var item = CPython.PyList_GetItem(list, i);
                // PyTuple_Size also accepts tuple subclasses (named tuples); anything else fails.
                if (CPython.PyTuple_Size(item) != 2)
                {
                    return Invalid($"header {i} is not a (name, value) tuple");
                }

                var name = CPython.ToStringOrNull(CPython.PyTuple_GetItem(item, 0));
                var value = name is null ? null : CPython.ToStringOrNull(CPython.PyTuple_GetItem(item, 1));
                if (name is null || value is null)
                {
                    return Invalid($"header {i}: name and value must be str");
                }

                if (!IsLatin1(name) || !IsLatin1(value))
                {
                    return Invalid($"header {name} is not latin-1");
                }

                if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                    && long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length))
                {
                    contentLength = length;
                }

                headers.Add(new(name, value));
            }

            try
            {
                _sink!.SetResponse(status, headers);
            }
            catch (InvalidResponseException e)
            {
                return Invalid(e.Message);
            }

            _contentLength = contentLength;
            _statusSeen = true;
            return Outcome.Done;
        }
        finally
        {
            CPython.Py_DecRef(pending);
        }
    }

    /// <summary>Headers go on the wire as latin-1 (PEP 3333); other characters cannot be sent.</summary>
    private static bool IsLatin1(string s) => !s.AsSpan().ContainsAnyExceptInRange('\0', '\u00ff');

    private Outcome Invalid(string message)
    {
        if (CPython.PyErr_Occurred() != 0)
        {
            CPython.PyErr_Clear();
        }

        _invalidResponse = message;
        return Outcome.Invalid;
    }

    /// <summary>The write() callable of PEP 3333: headers first, then the data pushed to the client. False with a Python error set.</summary>
    public bool WriteFromApp(nint startResponse, nint data)
    {
        if (startResponse != _startResponse)
        {
            CPython.SetError(CPython.PyExc_RuntimeError, "write() called after its request finished");
            return false;
        }

        if (_clientGone)
        {
            CPython.SetError(CPython.PyExc_OSError, "client disconnected");
            return false;
        }

        byte* p;
        nint n;
        if (CPython.PyBytes_AsStringAndSize(data, &p, &n) != 0)
        {
            return false;
        }

        var outcome = ApplyPending();
        if (outcome == Outcome.Done)
        {
            // The caller's reference keeps data alive while the GIL is released.
            outcome = WriteItem(new ReadOnlySpan<byte>(p, checked((int)n)), mayHold: false);
        }

        switch (outcome)
        {
            case Outcome.Done:
                return true;
            case Outcome.ClientGone:
                CPython.SetError(CPython.PyExc_OSError, "client disconnected");
                return false;
            case Outcome.Invalid:
                CPython.SetError(CPython.PyExc_RuntimeError, "invalid response: " + _invalidResponse);
                return false;
            default:
                return false;
        }
    }
}
