using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Http;

namespace Unicorn.PythonBridge;

internal sealed unsafe partial class PythonWsgiThread
{
    /// <summary>The most one wsgi.input read takes from the body at once.</summary>
    internal const int MaxReadSize = 1 << 20;

    // A request's token carries its thread's slot in these high bits, so wsgi.input read on a thread of the app's own
    // (a Django async view under WSGI runs on asgiref's loop thread) finds the request without a per-request lookup.
    private const int TokenIndexShift = 40;

    private static readonly Lock s_registryLock = new();
    private static PythonWsgiThread?[] s_registry = new PythonWsgiThread?[8];

    private readonly int _index;

    /// <summary>The instance whose request issued this wsgi.input token, on whichever thread reads it (null: none).</summary>
    public static PythonWsgiThread? OwnerOf(long token)
    {
        var registry = Volatile.Read(ref s_registry);
        var index = token >> TokenIndexShift;
        return (ulong)index < (ulong)registry.Length ? registry[index] : null;
    }

    private static int Register(PythonWsgiThread thread)
    {
        lock (s_registryLock)
        {
            var index = Array.IndexOf(s_registry, null);
            if (index < 0)
            {
                index = s_registry.Length;
                var grown = new PythonWsgiThread?[s_registry.Length * 2];
                s_registry.CopyTo(grown, 0);
                Volatile.Write(ref s_registry, grown);
            }

            s_registry[index] = thread;
            return index;
        }
    }

    private static void Unregister(int index)
    {
        lock (s_registryLock)
        {
            s_registry[index] = null;
        }
    }

    /// <summary>Up to size bytes of a streamed body as a new bytes object (b"" at the end), read with the GIL released.</summary>
    public nint ReadBody(long token, long size)
    {
        if (token != _token || _body is null)
        {
            CPython.SetError(CPython.PyExc_RuntimeError, "wsgi.input read after its request finished");
            return 0;
        }

        // Read straight into a new bytes object: no other Python code can see it yet, so the GIL is not needed.
        var want = (int)Math.Clamp(size, 0, MaxReadSize);
        var bytes = CPython.NewBytes(want, out var destination);
        if (bytes == 0)
        {
            return 0;
        }

        int n;
        string? error = null;
        var body = _body;
        // On another thread than the request's, that thread's own state is saved: _threadState is the request thread's.
        var foreign = t_current != this;
        var foreignState = foreign ? CPython.PyEval_SaveThread() : 0;
        if (!foreign)
        {
            ReleaseGil();
        }

        try
        {
            n = want == 0 ? 0 : body.Read(new Span<byte>(destination, want));
        }
        catch (Exception e) when (e is IOException or BadHttpRequestException)
        {
            // Kept for ReportPythonError: if the app lets this propagate, it is the client's failure, not the app's.
            n = 0;
            error = e.Message;
            _bodyFailure = e;
        }
        finally
        {
            if (foreign)
            {
                CPython.PyEval_RestoreThread(foreignState);
            }
            else
            {
                AcquireGil();
            }
        }

        if (error is not null)
        {
            CPython.Py_DecRef(bytes);
            CPython.SetError(CPython.PyExc_OSError, error);
            return 0;
        }

        return CPython.CutBytes(bytes, n, want);
    }
}
