using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge;

internal sealed unsafe partial class PythonWsgiThread
{
    /// <summary>
    /// environ['wsgi.early_hints'] for the request being served: hands the (str, str) pairs the shim checked to
    /// the sink, with the GIL released while it writes. New reference: None, or the reason a header was refused;
    /// 0 with OSError set when the client went away.
    /// </summary>
    internal nint SendEarlyHints(nint list)
    {
        if (_sink is null)
        {
            return CPython.NewRef(CPython.Py_None);
        }

        if (HeaderPairs(list) is not { } headers)
        {
            return 0;
        }

        string? refused = null;
        ReleaseGil();
        try
        {
            // A generator may send hints while the hold sender could be sending its previous items.
            lock (_holdLock)
            {
                _sink.SendEarlyHints(headers);
            }
        }
        catch (InvalidResponseException e)
        {
            refused = e.Message;
        }
        catch (IOException)
        {
            _clientGone = true;
        }
        finally
        {
            AcquireGil();
        }

        if (_clientGone)
        {
            CPython.SetError(CPython.PyExc_OSError, "client disconnected");
            return 0;
        }

        return refused is null ? CPython.NewRef(CPython.Py_None) : CPython.FromLatin1Chars(refused);
    }

    /// <summary>A list of (str, str) pairs the shim checked, as .NET pairs; null with a Python error set.</summary>
    private static List<KeyValuePair<string, string>>? HeaderPairs(nint list)
    {
        var count = CPython.PyList_Size(list);
        if (count < 0)
        {
            return null;
        }

        var pairs = new List<KeyValuePair<string, string>>((int)count);
        for (var i = 0; i < count; i++)
        {
            var item = CPython.PyList_GetItem(list, i);
            var name = CPython.ToStringOrNull(CPython.PyTuple_GetItem(item, 0));
            var value = name is null ? null : CPython.ToStringOrNull(CPython.PyTuple_GetItem(item, 1));
            if (name is null || value is null)
            {
                return null;
            }

            pairs.Add(new(name, value));
        }

        return pairs;
    }
}
