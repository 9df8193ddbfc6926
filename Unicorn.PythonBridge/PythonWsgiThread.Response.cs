using System.Diagnostics;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge;

internal sealed unsafe partial class PythonWsgiThread
{
    // The largest one-item body sent in one non-blocking write with the GIL held (TrySendNow); it is copied once.
    private const int ImmediateLimit = 16 * 1024;

    /// <summary>How sending a response ended.</summary>
    private enum Outcome
    {
        /// <summary>Completed normally.</summary>
        Done,

        /// <summary>A Python exception is set (the app's, or a PEP 3333 violation raised as one).</summary>
        PythonError,

        /// <summary>The client went away (the sink threw IOException).</summary>
        ClientGone,

        /// <summary>The sink refused the app's status or headers (<see cref="_invalidResponse"/>).</summary>
        Invalid,
    }

    private void Serve(WsgiRequest request, IResponseSink sink)
    {
        _contentLength = -1;
        var env = BuildEnviron(request);
        if (env == 0)
        {
            ReportPythonError(request, sink, 0);
            return;
        }

        if (KeepEnviron)
        {
            CPython.XDecRef(_keptEnviron); // not taken after an earlier request
            _keptEnviron = CPython.NewRef(env);
        }

        _startResponse = CPython.PyObject_CallNoArgs(_app.StartResponseType);
        if (_startResponse == 0)
        {
            CPython.Py_DecRef(env);
            ReportPythonError(request, sink, 0);
            return;
        }

        var args = stackalloc nint[2] { env, _startResponse };
        var result = CPython.PyObject_Vectorcall(_app.App, args, 2, 0);
        CPython.Py_DecRef(env);
        if (result == 0)
        {
            ReportPythonError(request, sink, 0);
            return;
        }

        Outcome outcome;
        try
        {
            outcome = SendResult(result);
        }
        catch (Exception e)
        {
            // The sink failed in a way it does not document: end this response, keep the worker. An
            // OutOfMemoryException included (a buffer that could not grow under worker_heap_limit): it escaped to the
            // connection, which logged its stack trace, and close() was never called.
            if (CPython.PyErr_Occurred() != 0)
            {
                CPython.PyErr_Clear();
            }

            Log.Error($"Error handling request {request.Method} {request.RawUri}: {e.GetType().Name}: {e.Message}");
            CloseIterable(request, result);
            CPython.Py_DecRef(result);
            AbortQuietly(sink);
            return;
        }

        Finish(request, sink, outcome, result);
        CPython.Py_DecRef(result);
    }

    /// <summary>Calls close(), then turns the outcome into the end of the response and log lines.</summary>
    private void Finish(WsgiRequest request, IResponseSink sink, Outcome outcome, nint result)
    {
        switch (outcome)
        {
            case Outcome.Done:
                CloseIterable(request, result);
                break;
            case Outcome.PythonError:
                ReportPythonError(request, sink, result);
                break;
            case Outcome.ClientGone:
                if (CPython.PyErr_Occurred() != 0)
                {
                    CPython.PyErr_Clear();
                }

                CloseIterable(request, result);
                if (Log.IsEnabled(LogLevel.Debug))
                {
                    Log.Debug($"Client went away while sending the response to {request.RawUri}");
                }

                AbortQuietly(sink);
                break;
            case Outcome.Invalid:
                if (CPython.PyErr_Occurred() != 0)
                {
                    CPython.PyErr_Clear();
                }

                CloseIterable(request, result);
                Log.Error($"Error handling request {request.Method} {request.RawUri}: invalid response from the application: {_invalidResponse}");
                SendErrorPage(sink);
                break;
        }
    }

    /// <summary>PEP 3333: the iterable's close() is called however the response ended.</summary>
    private void CloseIterable(WsgiRequest request, nint result)
    {
        var type = CPython.TypeOf(result);
        if (type == CPython.PyList_Type || type == CPython.PyTuple_Type)
        {
            return; // no close(), and a failed lookup would cost an AttributeError
        }

        var close = CPython.PyObject_GetAttr(result, _keys.Close);
        if (close == 0)
        {
            CPython.PyErr_Clear();
            return;
        }

        var r = CPython.PyObject_CallNoArgs(close);
        CPython.Py_DecRef(close);
        if (r != 0)
        {
            CPython.Py_DecRef(r);
            return;
        }

        var traceback = FetchTraceback();
        Log.Exception($"Error closing the response iterable of {request.RawUri}", traceback);
    }

    private Outcome SendResult(nint result)
    {
        var type = CPython.TypeOf(result);
        if (type == CPython.PyList_Type || type == CPython.PyTuple_Type)
        {
            return SendSequence(result, type == CPython.PyList_Type);
        }

        if (type == _app.FileWrapperType)
        {
            var sent = TrySendFile(result);
            if (sent is { } outcome)
            {
                return outcome;
            }
        }

        return SendIterable(result);
    }

    /// <summary>The fast path: a list or tuple of bytes, written without a flush between items.</summary>
    private Outcome SendSequence(nint sequence, bool isList)
    {
        var count = isList ? CPython.PyList_Size(sequence) : CPython.PyTuple_Size(sequence);
        Span<nint> items = count <= 16 ? stackalloc nint[(int)count] : new nint[count];
        Span<nint> lengths = count <= 16 ? stackalloc nint[(int)count] : new nint[count];
        Span<nint> data = count <= 16 ? stackalloc nint[(int)count] : new nint[count];
        var taken = 0;
        try
        {
            for (; taken < count; taken++)
            {
                var item = isList ? CPython.PyList_GetItem(sequence, taken) : CPython.PyTuple_GetItem(sequence, taken);
                byte* p;
                nint n;
                if (item == 0 || CPython.PyBytes_AsStringAndSize(item, &p, &n) != 0)
                {
                    return NotBytes(item);
                }

                // Hold each item: another Python thread could empty the list while the GIL is released.
                items[taken] = CPython.NewRef(item);
                data[taken] = (nint)p;
                lengths[taken] = n;
            }

            var ready = ReadyForBody();
            if (ready != Outcome.Done)
            {
                return ready;
            }

            if (count == 1 && lengths[0] <= ImmediateLimit && _app.SendsHoldingGil && TrySendNow(new ReadOnlySpan<byte>((byte*)data[0], (int)lengths[0])) is { } now)
            {
                return now;
            }

            ReleaseGil();
            try
            {
                for (var i = 0; i < count; i++)
                {
                    if (lengths[i] > 0)
                    {
                        _sink!.Write(new ReadOnlySpan<byte>((byte*)data[i], checked((int)lengths[i])));
                    }
                }

                _sink!.Complete();
                return Outcome.Done;
            }
            catch (Exception e) when (e is IOException or InvalidResponseException)
            {
                return SinkFailed(e);
            }
            finally
            {
                AcquireGil();
            }
        }
        finally
        {
            for (var i = 0; i < taken; i++)
            {
                CPython.Py_DecRef(items[i]);
            }
        }
    }

    /// <summary>
    /// A small one-item body as the whole response in one non-blocking send, keeping the GIL: when the socket takes
    /// it all (nearly always), the request gives up and retakes the GIL once instead of twice. Only where no other
    /// Python thread of the app waits for the GIL meanwhile (<see cref="PythonWsgiApplication.SendsHoldingGil"/>).
    /// Null when the sink has no such path; what a full socket did not take is flushed with the GIL released.
    /// </summary>
    private Outcome? TrySendNow(ReadOnlySpan<byte> body)
    {
        ImmediateResponse sent;
        try
        {
            sent = _sink!.TryCompleteNow(body);
        }
        catch (Exception e) when (e is IOException or InvalidResponseException)
        {
            return SinkFailed(e);
        }

        if (sent == ImmediateResponse.Unsupported)
        {
            return null;
        }

        if (sent == ImmediateResponse.Sent)
        {
            return Outcome.Done;
        }

        // Framed and ended already: only the rest of the bytes is left to send.
        return FinishWithoutGil(complete: false);
    }

    /// <summary>
    /// Any other iterable: one item at a time, the GIL released around each write; items the app yields back to
    /// back may leave together (PythonWsgiThread.Holding).
    /// </summary>
    private Outcome SendIterable(nint result)
    {
        var iterator = CPython.PyObject_GetIter(result);
        if (iterator == 0)
        {
            return Outcome.PythonError;
        }

        try
        {
            for (var first = true; ; first = false)
            {
                var started = Stopwatch.GetTimestamp();
                var item = CPython.PyIter_Next(iterator);
                var quick = Quick(started);
                var held = StopHolding();
                if (held != Outcome.Done)
                {
                    CPython.XDecRef(item);
                    return held;
                }

                if (item == 0)
                {
                    if (CPython.PyErr_Occurred() != 0)
                    {
                        return Outcome.PythonError;
                    }

                    break;
                }

                var outcome = SendItem(item, mayHold: quick && !first);
                CPython.Py_DecRef(item);
                if (outcome != Outcome.Done)
                {
                    return outcome;
                }
            }

            var ready = ReadyForBody();
            return ready == Outcome.Done ? Complete() : ready;
        }
        finally
        {
            CPython.Py_DecRef(iterator);
        }
    }

    private Outcome SendItem(nint item, bool mayHold)
    {
        byte* p;
        nint n;
        if (CPython.PyBytes_AsStringAndSize(item, &p, &n) != 0)
        {
            return NotBytes(item);
        }

        var ready = ReadyForBody();
        if (ready != Outcome.Done)
        {
            return ready;
        }

        return n == 0 ? Outcome.Done : WriteItem(new ReadOnlySpan<byte>(p, checked((int)n)), mayHold);
    }

    /// <summary>
    /// A str body item (the usual slip, `return ['ok']`) is named, as Gunicorn's `'ok' is not a byte` names it;
    /// CPython's own message ("expected bytes, str found") does not say which item.
    /// </summary>
    private Outcome NotBytes(nint item)
    {
        if (item == 0 || CPython.TypeOf(item) != CPython.PyUnicode_Type)
        {
            return Outcome.PythonError;
        }

        CPython.PyErr_Clear();
        nint size;
        var utf8 = CPython.PyUnicode_AsUTF8AndSize(item, &size);
        if (utf8 == null)
        {
            return Invalid("a body item is a str, not bytes");
        }

        var text = System.Text.Encoding.UTF8.GetString(utf8, (int)Math.Min(size, 60));
        return Invalid($"body item '{text}{(size > 60 ? "..." : "")}' is a str, not bytes");
    }

    private Outcome Complete() => FinishWithoutGil(complete: true);

    /// <summary>The response's last write with the GIL released: complete it, or flush what an ended one has left.</summary>
    private Outcome FinishWithoutGil(bool complete)
    {
        ReleaseGil();
        try
        {
            if (complete)
            {
                _sink!.Complete();
            }
            else
            {
                _sink!.Flush();
            }

            return Outcome.Done;
        }
        catch (Exception e) when (e is IOException or InvalidResponseException)
        {
            return SinkFailed(e);
        }
        finally
        {
            AcquireGil();
        }
    }

    /// <summary>What a sink call that threw means: the client is gone, or the app's response is not valid HTTP.</summary>
    private Outcome SinkFailed(Exception e)
    {
        if (e is InvalidResponseException)
        {
            _invalidResponse = e.Message;
            return Outcome.Invalid;
        }

        _clientGone = true;
        return Outcome.ClientGone;
    }

    /// <summary>Before any body byte: start_response's pending status and headers applied, and there must be some.</summary>
    private Outcome ReadyForBody()
    {
        var applied = ApplyPending();
        if (applied != Outcome.Done || _statusSeen)
        {
            return applied;
        }

        CPython.SetError(CPython.PyExc_RuntimeError, "the application returned a body without calling start_response()");
        return Outcome.PythonError;
    }
}
