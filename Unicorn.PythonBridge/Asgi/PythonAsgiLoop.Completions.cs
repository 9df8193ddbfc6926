using Python.Runtime;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge.Asgi;

/// <summary>
/// What completes on the loop for an exchange once .NET has it: a websocket message received, a started write or send
/// done, a receive refused. Each is posted from the thread that saw it and runs on the loop as one C-API call into
/// <c>Server</c> by exchange id, with no pythonnet wrapper per message.
/// </summary>
public sealed partial class PythonAsgiLoop
{
    /// <summary>
    /// Completes websocket <paramref name="id"/>'s waiting receive with (kind, value): kind 0 text (str) or 1 bytes with
    /// <paramref name="payload"/>, 2 a close: (<paramref name="code"/>, the reason in <paramref name="payload"/>). Built and called through the C API on the
    /// loop: per message, no pythonnet call and no wrapper objects. <paramref name="release"/> runs once the bytes are copied.
    /// </summary>
    internal void Received(long id, int kind, ReadOnlyMemory<byte> payload, int code, Action? release = null) =>
        Post(() => CompleteReceive(id, kind, payload, code, release));

    /// <summary>
    /// Ends exchange <paramref name="id"/>'s wait for a write that started but did not finish at once (an
    /// http.response.body or a websocket.send): <see cref="WriteOutcome.Done"/> resolves it, <see cref="WriteOutcome.Gone"/>
    /// raises OSError in the app and <see cref="WriteOutcome.Failed"/> RuntimeError, with <paramref name="message"/>.
    /// Called through the C API on the loop: a streamed response over HTTP/2 waits on most of its writes, and a
    /// pythonnet call per wait cost more than the write.
    /// </summary>
    internal void Written(long id, WriteOutcome outcome, string? message = null) =>
        Post(() => CompleteWritten(id, outcome, message));

    private unsafe void CompleteWritten(long id, WriteOutcome outcome, string? message)
    {
        var idObject = CPython.PyLong_FromLongLong(id);
        var outcomeObject = CPython.PyLong_FromLongLong((long)outcome);
        nint text;
        if (message is null)
        {
            text = CPython.NewRef(CPython.Py_None);
        }
        else
        {
            var utf8 = System.Text.Encoding.UTF8.GetBytes(message);
            fixed (byte* p = utf8)
            {
                text = CPython.PyUnicode_DecodeUTF8(p, utf8.Length, null);
            }
        }

        CallServer(_written, idObject, outcomeObject, text, "a write");
    }

    /// <summary>Fails websocket <paramref name="id"/>'s waiting receive with RuntimeError (the app's misuse).</summary>
    internal void ReceiveFailed(long id, string message) => Post(() =>
    {
        using var pyId = new PyInt(id);
        using var text = new PyString(message);
        using (_server!.InvokeMethod("ws_error", pyId, text))
        {
        }
    });

    private unsafe void CompleteReceive(long id, int kind, ReadOnlyMemory<byte> payload, int code, Action? release)
    {
        nint value;
        try
        {
            fixed (byte* p = payload.Span)
            {
                if (kind == 2)
                {
                    value = CloseTuple(code, CPython.PyUnicode_DecodeUTF8(p, payload.Length, null));
                }
                else
                {
                    // .NET has already refused invalid UTF-8 in a text message (1007).
                    value = kind == 0
                        ? CPython.PyUnicode_DecodeUTF8(p, payload.Length, null)
                        : CPython.PyBytes_FromStringAndSize(p, payload.Length);
                }
            }
        }
        finally
        {
            release?.Invoke();
        }

        CallServer(_received, CPython.PyLong_FromLongLong(id), CPython.PyLong_FromLongLong(kind), value, "a websocket receive");
    }

    // (code, reason), stealing reason; 0 with an error set when either could not be built.
    private static unsafe nint CloseTuple(int code, nint reason)
    {
        var tuple = reason == 0 ? 0 : CPython.PyTuple_New(2);
        if (tuple == 0)
        {
            CPython.XDecRef(reason);
            return 0;
        }

        CPython.PyTuple_SetItem(tuple, 0, CPython.PyLong_FromLongLong(code));
        CPython.PyTuple_SetItem(tuple, 1, reason);
        return tuple;
    }

    /// <summary>
    /// Calls a <c>Server</c> method (a new reference held for the loop's life) with three new references, which it
    /// releases. The method only settles a future, so its failing means the loop is going down: logged, once per call.
    /// </summary>
    private unsafe void CallServer(nint method, nint a, nint b, nint c, string what)
    {
        if (a == 0 || b == 0 || c == 0)
        {
            CPython.XDecRef(a);
            CPython.XDecRef(b);
            CPython.XDecRef(c);
            CPython.PyErr_Clear();
            throw new OutOfMemoryException($"could not build the completion of {what}");
        }

        var args = stackalloc nint[3] { a, b, c };
        var result = CPython.PyObject_Vectorcall(method, args, 3, 0);
        CPython.Py_DecRef(a);
        CPython.Py_DecRef(b);
        CPython.Py_DecRef(c);
        if (result == 0)
        {
            CPython.PyErr_Clear();
            ErrorLog.Error($"ASGI loop: could not complete {what}");
            return;
        }

        CPython.Py_DecRef(result);
    }
}
