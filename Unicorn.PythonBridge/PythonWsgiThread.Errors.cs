using Unicorn.PythonBridge.Logging;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Http;

namespace Unicorn.PythonBridge;

internal sealed unsafe partial class PythonWsgiThread
{

    /// <summary>
    /// The app raised (or broke PEP 3333): the traceback goes to the error log; the client gets a 500
    /// if nothing was sent yet, else a connection closed without a clean end. result (may be 0) is closed.
    /// </summary>
    private void ReportPythonError(WsgiRequest request, IResponseSink sink, nint result)
    {
        // A logger_class with an exception() of its own gets the exception live, as in Gunicorn's except block.
        var live = PythonLogging.LiveExceptions;
        nint type = 0, value = 0, tb = 0;
        var traceback = live ? FetchTraceback(&type, &value, &tb) : FetchTraceback();
        try
        {
            ReportPythonError(request, sink, result, traceback, type, value, tb);
        }
        finally
        {
            CPython.XDecRef(type);
            CPython.XDecRef(value);
            CPython.XDecRef(tb);
        }
    }

    private void ReportPythonError(WsgiRequest request, IResponseSink sink, nint result, string traceback, nint type, nint value, nint tb)
    {
        if (result != 0)
        {
            CloseIterable(request, result);
        }

        if (_bodyFailure is { } bodyFailure)
        {
            ReportBodyFailure(request, sink, bodyFailure);
            return;
        }

        if (_clientGone)
        {
            AbortQuietly(sink);
            return;
        }

        if (_invalidResponse is not null)
        {
            Log.Error($"Error handling request {request.Method} {request.RawUri}: invalid response from the application: {_invalidResponse}");
        }
        else if (value != 0)
        {
            LogLive(request, traceback, type, value, tb);
        }
        else
        {
            Log.Exception($"Error handling request {request.Method} {request.RawUri}", traceback);
        }

        if (sink.HeadersSent)
        {
            AbortQuietly(sink);
        }
        else
        {
            SendErrorPage(sink);
        }
    }

    /// <summary>
    /// The app raised out of a wsgi.input read that failed because of the client: that is no app error, so no
    /// traceback and no 500. As Gunicorn: a slow client gets nothing and one line; a client that went away is a
    /// debug line; bad chunked framing is the connection's to answer (400, "Invalid request from ip=").
    /// </summary>
    private void ReportBodyFailure(WsgiRequest request, IResponseSink sink, Exception failure)
    {
        var remote = request.RemoteEndPoint?.Address.ToString() ?? "unix";
        switch (failure)
        {
            case BadHttpRequestException bad:
                _rejection = bad; // Invoke throws it once Python is left behind
                return;
            case RequestBodyTimeoutException slow:
                Log.Info(slow.LogLine(remote));
                break;
            default:
                Log.Debug($"Ignored premature client disconnection. {failure.Message}");
                break;
        }

        AbortQuietly(sink);
    }

    private void SendErrorPage(IResponseSink sink)
    {
        if (sink.HeadersSent)
        {
            AbortQuietly(sink);
            return;
        }

        try
        {
            sink.SetResponse("500 Internal Server Error",
            [
                new("Content-Type", "text/html"),
                new("Content-Length", InternalErrorPage.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ]);
            ReleaseGil();
            try
            {
                sink.Write(InternalErrorPage.Body);
                sink.Complete();
            }
            finally
            {
                AcquireGil();
            }
        }
        catch (Exception e) when (e is IOException or InvalidResponseException or ObjectDisposedException or InvalidOperationException)
        {
            AbortQuietly(sink);
        }
    }

    /// <summary>Logs the app's exception with (type, value, tb) as the thread's handled exception, the one
    /// <c>sys.exc_info()</c> returns, as in the except block where Gunicorn logs it; the handled one before is put back.</summary>
    private void LogLive(WsgiRequest request, string traceback, nint type, nint value, nint tb)
    {
        nint savedType, savedValue, savedTb;
        CPython.PyErr_GetExcInfo(&savedType, &savedValue, &savedTb);
        CPython.PyErr_SetExcInfo(XNewRef(type), XNewRef(value), XNewRef(tb)); // steals
        try
        {
            Log.Exception($"Error handling request {request.Method} {request.RawUri}", traceback,
                "Error handling request %s %s", request.Method, request.RawUri);
        }
        finally
        {
            CPython.PyErr_SetExcInfo(savedType, savedValue, savedTb); // steals
        }
    }

    private static nint XNewRef(nint o) => o == 0 ? 0 : CPython.NewRef(o);

    /// <summary>Fetches and clears the current Python exception as traceback text.</summary>
    private string FetchTraceback() => FetchTraceback(null, null, null);

    /// <summary>Fetches and clears the current Python exception as traceback text; with <paramref name="keepType"/>,
    /// also hands over the normalised (type, value, tb), which the caller releases.</summary>
    private string FetchTraceback(nint* keepType, nint* keepValue, nint* keepTb)
    {
        nint type, value, tb;
        CPython.PyErr_Fetch(&type, &value, &tb);
        if (type == 0)
        {
            return "(no Python exception)";
        }

        CPython.PyErr_NormalizeException(&type, &value, &tb);
        if (tb != 0 && value != 0)
        {
            CPython.PyException_SetTraceback(value, tb);
        }

        string text = "(traceback unavailable)";
        if (value != 0)
        {
            var args = stackalloc nint[1] { value };
            var formatted = CPython.PyObject_Vectorcall(_app.FormatException, args, 1, 0);
            if (formatted != 0)
            {
                text = CPython.ToStringOrNull(formatted) ?? text;
                CPython.Py_DecRef(formatted);
            }

            if (CPython.PyErr_Occurred() != 0)
            {
                CPython.PyErr_Clear();
            }
        }

        if (keepType != null)
        {
            (*keepType, *keepValue, *keepTb) = (type, value, tb);
            return text;
        }

        CPython.XDecRef(type);
        CPython.XDecRef(value);
        CPython.XDecRef(tb);
        return text;
    }
}
