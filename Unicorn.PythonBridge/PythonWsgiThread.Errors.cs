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
        var traceback = FetchTraceback();
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

    /// <summary>Fetches and clears the current Python exception as traceback text.</summary>
    private string FetchTraceback()
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

        CPython.XDecRef(type);
        CPython.XDecRef(value);
        CPython.XDecRef(tb);
        return text;
    }
}
