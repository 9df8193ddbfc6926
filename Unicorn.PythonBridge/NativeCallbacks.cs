using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Python.Runtime;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge;

/// <summary>
/// The C functions <c>_unicorn_bridge._native.*</c>. They run on the calling Python thread with the GIL
/// held and reach the request through <see cref="PythonWsgiThread.Current"/>. They never throw into
/// native code: failures become Python exceptions.
/// </summary>
internal static unsafe class NativeCallbacks
{
    public static IErrorLog? Log { get; set; }

    /// <summary>A namespace object holding the functions (GIL held).</summary>
    public static PyObject CreateNamespace()
    {
        var ns = NativeFunction.NewNamespace();
        NativeFunction.Add(ns, "write", (delegate* unmanaged<nint, nint*, nint, nint>)&Write, CPython.METH_FASTCALL);
        NativeFunction.Add(ns, "read", (delegate* unmanaged<nint, nint*, nint, nint>)&Read, CPython.METH_FASTCALL);
        NativeFunction.Add(ns, "log", (delegate* unmanaged<nint, nint*, nint, nint>)&LogMessage, CPython.METH_FASTCALL);
        NativeFunction.Add(ns, "headers_sent", (delegate* unmanaged<nint, nint, nint>)&HeadersSent, CPython.METH_NOARGS);
        NativeFunction.Add(ns, "early_hints", (delegate* unmanaged<nint, nint*, nint, nint>)&EarlyHints, CPython.METH_FASTCALL);
        NativeFunction.Add(ns, "send_trailers", (delegate* unmanaged<nint, nint*, nint, nint>)&SendTrailers, CPython.METH_FASTCALL);
        return ns;
    }

    /// <summary>write(start_response, data): the callable start_response returned.</summary>
    [UnmanagedCallersOnly]
    private static nint Write(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 2)
            {
                return NativeFunction.Raise("write() takes exactly one argument", CPython.PyExc_TypeError);
            }

            var current = PythonWsgiThread.Current;
            if (current is null)
            {
                return NativeFunction.Raise("write() called outside the thread of its request");
            }

            return current.WriteFromApp(args[0], args[1]) ? CPython.NewRef(CPython.Py_None) : 0;
        }
        catch (Exception e)
        {
            return NativeFunction.Raise(e);
        }
    }

    /// <summary>read(token, n): up to n bytes of a streamed request body, b"" at its end.</summary>
    [UnmanagedCallersOnly]
    private static nint Read(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 2)
            {
                return NativeFunction.Raise("read() takes two arguments", CPython.PyExc_TypeError);
            }

            var token = CPython.PyLong_AsLongLong(args[0]);
            var size = CPython.PyLong_AsLongLong(args[1]);
            if (CPython.PyErr_Occurred() != 0)
            {
                return 0;
            }

            // By the token, not the calling thread: an app may read its request's body on a thread of its own.
            var owner = PythonWsgiThread.OwnerOf(token);
            if (owner is null)
            {
                return NativeFunction.Raise("wsgi.input read after its request finished");
            }

            return owner.ReadBody(token, size);
        }
        catch (Exception e)
        {
            return NativeFunction.Raise(e);
        }
    }

    /// <summary>headers_sent(): whether the status line already reached the client (exc_info rule).</summary>
    [UnmanagedCallersOnly]
    private static nint HeadersSent(nint self, nint unused)
    {
        try
        {
            var sent = PythonWsgiThread.Current?.HeadersSent ?? false;
            return CPython.NewRef(sent ? CPython.Py_True : CPython.Py_False);
        }
        catch (Exception e)
        {
            return NativeFunction.Raise(e);
        }
    }

    /// <summary>
    /// early_hints(headers): a 103 for the request of this thread; headers is a list of (str, str) tuples.
    /// Returns None, or the reason a header was refused (the shim raises ValueError with it).
    /// </summary>
    [UnmanagedCallersOnly]
    private static nint EarlyHints(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 1)
            {
                return NativeFunction.Raise("early_hints() takes exactly one argument", CPython.PyExc_TypeError);
            }

            // Called outside a request (a thread of the app's own): there is no response to precede.
            var current = PythonWsgiThread.Current;
            return current is null ? CPython.NewRef(CPython.Py_None) : current.SendEarlyHints(args[0]);
        }
        catch (Exception e)
        {
            return NativeFunction.Raise(e);
        }
    }

    /// <summary>
    /// send_trailers(trailers): response trailers for the HTTP/2 request of this thread; a list of (str, str) tuples.
    /// Returns None, or the reason they were refused (the shim raises ValueError with it).
    /// </summary>
    [UnmanagedCallersOnly]
    private static nint SendTrailers(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 1)
            {
                return NativeFunction.Raise("send_trailers() takes exactly one argument", CPython.PyExc_TypeError);
            }

            var current = PythonWsgiThread.Current;
            return current is null
                ? CPython.FromLatin1Chars("send_trailers() called outside the request it belongs to")
                : current.AddTrailers(args[0]);
        }
        catch (Exception e)
        {
            return NativeFunction.Raise(e);
        }
    }

    /// <summary>log(level, message): a line in the server's error log.</summary>
    [UnmanagedCallersOnly]
    private static nint LogMessage(nint self, nint* args, nint nargs) => WriteLog(Log, args, nargs);

    /// <summary>
    /// log(level, message[, traceback]): a line in the server's error log at Python's numeric level, an error's
    /// traceback as Exception logs it. The bridge's and the greenlet hub's <c>_native.log</c>, and the hooks' and the
    /// <c>gunicorn.error</c> logger's (<see cref="Logging.ErrorLogFunction"/>).
    /// </summary>
    internal static nint WriteLog(IErrorLog? log, nint* args, nint nargs)
    {
        try
        {
            if (nargs is not (2 or 3))
            {
                return NativeFunction.Raise("log() takes a level, a message and an optional traceback", CPython.PyExc_TypeError);
            }

            var level = ToLevel(CPython.PyLong_AsLongLong(args[0]));
            var message = CPython.ToStringOrNull(args[1]);
            var traceback = nargs == 3 && args[2] != CPython.Py_None ? CPython.ToStringOrNull(args[2]) : "";
            if (message is null || traceback is null)
            {
                return 0; // not a str: the TypeError is set
            }

            if (traceback.Length == 0)
            {
                log?.Log(level, message);
            }
            else if (level == LogLevel.Error)
            {
                log?.Exception(message, traceback); // counted as one, as Gunicorn's statsd logger does
            }
            else
            {
                log?.Log(level, message + "\n" + traceback.TrimEnd('\n'));
            }

            return CPython.NewRef(CPython.Py_None);
        }
        catch (Exception e)
        {
            return NativeFunction.Raise(e);
        }
    }

    /// <summary>Python's numeric level, rounded down to the level Unicorn logs at (a level-25 record is not a warning).</summary>
    internal static LogLevel ToLevel(long level) => level switch
    {
        >= 50 => LogLevel.Critical,
        >= 40 => LogLevel.Error,
        >= 30 => LogLevel.Warning,
        >= 20 => LogLevel.Info,
        _ => LogLevel.Debug,
    };
}
