using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge;

internal sealed unsafe partial class PythonWsgiThread
{
    /// <summary>
    /// environ['gunicorn.http2.send_trailers'] for the HTTP/2 request being served: hands the (str, str) pairs the
    /// shim checked to the sink, which sends them after the body. New reference: None, or the reason they were
    /// refused; 0 with a Python error set.
    /// </summary>
    internal nint AddTrailers(nint list)
    {
        if (_sink is null)
        {
            return CPython.FromLatin1Chars("no response is being served on this thread");
        }

        if (HeaderPairs(list) is not { } trailers)
        {
            return 0;
        }

        EnterHoldLock(); // a generator may add them while the hold sender sends its previous items
        try
        {
            _sink.AddTrailers(trailers); // only recorded: nothing is written until the response completes
            return CPython.NewRef(CPython.Py_None);
        }
        catch (InvalidResponseException e)
        {
            return CPython.FromLatin1Chars(e.Message);
        }
        finally
        {
            _holdLock.Exit();
        }
    }
}
