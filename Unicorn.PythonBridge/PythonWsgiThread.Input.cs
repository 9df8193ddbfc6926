using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Http;

namespace Unicorn.PythonBridge;

internal sealed unsafe partial class PythonWsgiThread
{
    /// <summary>The most one wsgi.input read takes from the body at once.</summary>
    internal const int MaxReadSize = 1 << 20;

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
        ReleaseGil();
        try
        {
            n = want == 0 ? 0 : _body.Read(new Span<byte>(destination, want));
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
            AcquireGil();
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
