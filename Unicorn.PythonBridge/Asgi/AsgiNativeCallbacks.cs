using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Python.Runtime;
using Unicorn.PythonBridge.Native;

namespace Unicorn.PythonBridge.Asgi;

/// <summary>
/// The per-message C functions of the ASGI loop (<c>Server.fast</c>): the loop's drain, an http
/// exchange's request fields, start, body write and finish, and websocket receive/send. A PyCFunction keeps the GIL and costs what a C extension call costs; a pythonnet method call
/// releases and retakes the GIL and converts its arguments, which made up most of a websocket echo's cost.
/// Each function's self is the loop's key in <see cref="s_loops"/>, so several loops (tests) can coexist.
/// </summary>
internal static unsafe class AsgiNativeCallbacks
{
    private static readonly ConcurrentDictionary<long, PythonAsgiLoop> s_loops = new();
    private static long s_nextKey;

    /// <summary>A namespace holding the functions bound to <paramref name="loop"/> (GIL held).</summary>
    public static PyObject CreateNamespace(PythonAsgiLoop loop, out long key)
    {
        key = Interlocked.Increment(ref s_nextKey);
        s_loops[key] = loop;
        var ns = NativeFunction.NewNamespace();
        var self = CPython.PyLong_FromLongLong(key);
        try
        {
            NativeFunction.Add(ns, "drain", (delegate* unmanaged<nint, nint, nint>)&Drain, CPython.METH_NOARGS, self);
            NativeFunction.Add(ns, "http_scope", (delegate* unmanaged<nint, nint*, nint, nint>)&HttpScope, CPython.METH_FASTCALL, self);
            NativeFunction.Add(ns, "body", (delegate* unmanaged<nint, nint*, nint, nint>)&Body, CPython.METH_FASTCALL, self);
            NativeFunction.Add(ns, "start", (delegate* unmanaged<nint, nint*, nint, nint>)&Start, CPython.METH_FASTCALL, self);
            NativeFunction.Add(ns, "write", (delegate* unmanaged<nint, nint*, nint, nint>)&Write, CPython.METH_FASTCALL, self);
            NativeFunction.Add(ns, "finish", (delegate* unmanaged<nint, nint*, nint, nint>)&Finish, CPython.METH_FASTCALL, self);
            NativeFunction.Add(ns, "ws_receive", (delegate* unmanaged<nint, nint*, nint, nint>)&WsReceive, CPython.METH_FASTCALL, self);
            NativeFunction.Add(ns, "ws_send", (delegate* unmanaged<nint, nint*, nint, nint>)&WsSend, CPython.METH_FASTCALL, self);
        }
        finally
        {
            CPython.Py_DecRef(self);
        }

        return ns;
    }

    /// <summary>The loop has exited: its functions raise from now on.</summary>
    public static void Forget(long key) => s_loops.TryRemove(key, out _);

    /// <summary>drain(): runs the work other threads posted to the loop.</summary>
    [UnmanagedCallersOnly]
    private static nint Drain(nint self, nint unused)
    {
        try
        {
            if (Loop(self) is not { } loop)
            {
                return 0;
            }

            loop.DrainHeld();
            return CPython.NewRef(CPython.Py_None);
        }
        catch (Exception e)
        {
            return NativeFunction.Raise(e.Message, CPython.PyExc_RuntimeError);
        }
    }

    /// <summary>http_scope(id): exchange <c>id</c>'s http scope dict, all but <c>state</c> (<see cref="AsgiHttpScope"/>).</summary>
    [UnmanagedCallersOnly]
    private static nint HttpScope(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 1)
            {
                return NativeFunction.Raise("http_scope() takes one argument", CPython.PyExc_TypeError);
            }

            return Exchange(self, args[0]) is { } exchange ? AsgiHttpScope.Build(exchange, exchange.RootPath) : 0;
        }
        catch (Exception e)
        {
            return NativeFunction.Raise(e.Message, CPython.PyExc_RuntimeError);
        }
    }

    /// <summary>body(id): <see cref="PythonAsgiExchange.BufferedBody"/>, the whole body as bytes, or None when it streams.</summary>
    [UnmanagedCallersOnly]
    private static nint Body(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 1)
            {
                return NativeFunction.Raise("body() takes one argument", CPython.PyExc_TypeError);
            }

            return Exchange(self, args[0]) is { } exchange ? exchange.BufferedBody() : 0;
        }
        catch (Exception e)
        {
            return NativeFunction.Raise(e.Message, CPython.PyExc_RuntimeError);
        }
    }

    /// <summary>
    /// start(id, status_line, headers): <see cref="PythonAsgiExchange.Start(string, List{KeyValuePair{string, string}})"/>
    /// with the app's headers read here: None, or why they were refused; NotImplemented when the headers are not a
    /// list or tuple of 2-item lists or tuples of bytes or str without NUL, and Python checks them itself (its errors).
    /// </summary>
    [UnmanagedCallersOnly]
    private static nint Start(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 3)
            {
                return NativeFunction.Raise("start() takes three arguments", CPython.PyExc_TypeError);
            }

            if (Exchange(self, args[0]) is not { } exchange)
            {
                return 0;
            }

            var status = CPython.ToStringOrNull(args[1]);
            if (status is null)
            {
                CPython.PyErr_Clear();
                return NativeFunction.Raise("start() takes (int, str, list)", CPython.PyExc_TypeError);
            }

            if (ResponseHeaders(args[2]) is not { } headers)
            {
                return CPython.NewRef(CPython.Py_NotImplemented);
            }

            return exchange.Start(status, headers) is { } error
                ? CPython.FromLatin1Chars(error)
                : CPython.NewRef(CPython.Py_None);
        }
        catch (Exception e)
        {
            return NativeFunction.Raise(e.Message, CPython.PyExc_RuntimeError);
        }
    }

    /// <summary>The app's response headers as pairs; null (no error set) for anything but the plain shapes.</summary>
    private static List<KeyValuePair<string, string>>? ResponseHeaders(nint headers)
    {
        var type = CPython.TypeOf(headers);
        var isList = type == CPython.PyList_Type;
        if (!isList && type != CPython.PyTuple_Type)
        {
            return null;
        }

        var count = isList ? CPython.PyList_Size(headers) : CPython.PyTuple_Size(headers);
        var list = new List<KeyValuePair<string, string>>((int)count);
        for (nint i = 0; i < count; i++)
        {
            var item = isList ? CPython.PyList_GetItem(headers, i) : CPython.PyTuple_GetItem(headers, i); // borrowed
            var itemType = CPython.TypeOf(item);
            nint name, value;
            if (itemType == CPython.PyTuple_Type && CPython.PyTuple_Size(item) == 2)
            {
                name = CPython.PyTuple_GetItem(item, 0);
                value = CPython.PyTuple_GetItem(item, 1);
            }
            else if (itemType == CPython.PyList_Type && CPython.PyList_Size(item) == 2)
            {
                name = CPython.PyList_GetItem(item, 0);
                value = CPython.PyList_GetItem(item, 1);
            }
            else
            {
                return null;
            }

            if (HeaderText(name) is not { } n || HeaderText(value) is not { } v)
            {
                return null;
            }

            list.Add(new(n, v));
        }

        return list;
    }

    /// <summary>bytes as latin-1 or str as itself, as Python's <c>_latin1</c>; null for other types or a NUL.</summary>
    private static string? HeaderText(nint o)
    {
        byte* p;
        nint n;
        string text;
        var type = CPython.TypeOf(o);
        if (type == CPython.PyBytes_Type)
        {
            CPython.PyBytes_AsStringAndSize(o, &p, &n);
            text = System.Text.Encoding.Latin1.GetString(p, checked((int)n));
        }
        else if (type == CPython.PyUnicode_Type)
        {
            if (CPython.ToStringOrNull(o) is not { } s)
            {
                CPython.PyErr_Clear(); // lone surrogates: Python's path reports them
                return null;
            }

            text = s;
        }
        else
        {
            return null;
        }

        return text.Contains('\0') ? null : text;
    }

    /// <summary>write(id, body, more): <see cref="PythonAsgiExchange.WriteNow"/>: 0 written, 1 await, 2 queue.</summary>
    [UnmanagedCallersOnly]
    private static nint Write(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 3)
            {
                return NativeFunction.Raise("write() takes three arguments", CPython.PyExc_TypeError);
            }

            if (Exchange(self, args[0]) is not { } exchange)
            {
                return 0;
            }

            return CPython.PyLong_FromLongLong(exchange.WriteNow(args[1], args[2] == CPython.Py_True));
        }
        catch (ArgumentException e)
        {
            return NativeFunction.Raise(e.Message, CPython.PyExc_TypeError);
        }
        catch (Exception e)
        {
            return NativeFunction.Raise(e.Message, CPython.PyExc_RuntimeError);
        }
    }

    /// <summary>finish(id): <see cref="PythonAsgiExchange.Finish"/>, the app's task has ended.</summary>
    [UnmanagedCallersOnly]
    private static nint Finish(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 1)
            {
                return NativeFunction.Raise("finish() takes one argument", CPython.PyExc_TypeError);
            }

            if (Exchange(self, args[0]) is not { } exchange)
            {
                return 0;
            }

            exchange.Finish();
            return CPython.NewRef(CPython.Py_None);
        }
        catch (Exception e)
        {
            return NativeFunction.Raise(e.Message, CPython.PyExc_RuntimeError);
        }
    }

    /// <summary>
    /// ws_receive(id): the next message of websocket <c>id</c> when .NET has it already (str for text, bytes for
    /// binary); else None, and the message arrives later through <c>Server.ws_received</c>.
    /// </summary>
    [UnmanagedCallersOnly]
    private static nint WsReceive(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 1)
            {
                return NativeFunction.Raise("ws_receive() takes one argument", CPython.PyExc_TypeError);
            }

            return Socket(self, args[0]) is { } socket ? socket.ReceiveNow() : 0;
        }
        catch (Exception e)
        {
            return NativeFunction.Raise(e.Message, CPython.PyExc_RuntimeError);
        }
    }

    /// <summary>
    /// ws_send(id, data, is_text): data is str (sent as UTF-8) or bytes. 0 written already; 1 started, await the
    /// request's write future (<c>Server.written</c> settles it); 2 others are queued first, use <c>Send</c>.
    /// </summary>
    [UnmanagedCallersOnly]
    private static nint WsSend(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 3)
            {
                return NativeFunction.Raise("ws_send() takes three arguments", CPython.PyExc_TypeError);
            }

            if (Socket(self, args[0]) is not { } socket)
            {
                return 0;
            }

            byte* p;
            nint n;
            if (args[1] != 0 && CPython.PyBytes_AsStringAndSize(args[1], &p, &n) == 0)
            {
                // bytes
            }
            else
            {
                CPython.PyErr_Clear();
                p = CPython.PyUnicode_AsUTF8AndSize(args[1], &n);
                if (p == null)
                {
                    CPython.PyErr_Clear();
                    return NativeFunction.Raise("websocket.send: 'text' must be str and 'bytes' bytes", CPython.PyExc_TypeError);
                }
            }

            var text = args[2] == CPython.Py_True;
            return CPython.PyLong_FromLongLong(socket.SendNow(new ReadOnlySpan<byte>(p, checked((int)n)), text));
        }
        catch (Exception e)
        {
            return NativeFunction.Raise(e.Message, CPython.PyExc_RuntimeError);
        }
    }

    private static PythonAsgiLoop? Loop(nint self)
    {
        if (s_loops.TryGetValue(CPython.PyLong_AsLongLong(self), out var loop))
        {
            return loop;
        }

        NativeFunction.Raise("the ASGI loop has stopped", CPython.PyExc_RuntimeError);
        return null;
    }

    private static PythonAsgiExchange? Exchange(nint self, nint id)
    {
        if (Loop(self) is not { } loop)
        {
            return null;
        }

        var key = CPython.PyLong_AsLongLong(id);
        if (CPython.PyErr_Occurred() != 0)
        {
            return null;
        }

        if (loop.Exchange(key) is { } exchange)
        {
            return exchange;
        }

        NativeFunction.Raise("the request has ended", CPython.PyExc_OSError);
        return null;
    }

    private static PythonAsgiWebSocket? Socket(nint self, nint id)
    {
        if (Loop(self) is not { } loop)
        {
            return null;
        }

        var key = CPython.PyLong_AsLongLong(id);
        if (CPython.PyErr_Occurred() != 0)
        {
            return null;
        }

        if (loop.WebSocket(key) is { } socket)
        {
            return socket;
        }

        NativeFunction.Raise("the websocket is closed", CPython.PyExc_OSError);
        return null;
    }
}
