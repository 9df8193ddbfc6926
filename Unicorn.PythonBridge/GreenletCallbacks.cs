using System.Runtime.InteropServices;
using System.Text.Json;
using Python.Runtime;
using Unicorn.PythonBridge.ConfigFile;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Logging;

namespace Unicorn.PythonBridge;

/// <summary>
/// The C functions <c>_unicorn_greenlet._native.*</c>, called from the hub thread with the GIL held, by the
/// hub's loop or by a request's greenlet. Each returns at once and never switches greenlets (greenlet copies C
/// stacks; .NET frames must not be on a stack it swaps out): "wait" is an answer, and the waiting happens in
/// Python. Failures become Python exceptions.
/// </summary>
internal static unsafe class GreenletCallbacks
{
    // One hub per worker process, touched only from its thread while it holds the GIL.
    private static IGreenletHub? s_hub;
    private static PythonWsgiThread? s_thread;
    private static IErrorLog? s_log;
    private static GreenletRequestHooks? s_hooks;
    private static readonly Dictionary<long, IGreenletRequest> s_requests = [];

    // Requests whose status or headers the server refused (start or respond): why, so that the failure the greenlet
    // then reports is one line naming the request, as the threaded host logs it, not the RuntimeError's traceback.
    private static readonly Dictionary<long, string> s_invalidResponses = [];

    public static void Begin(IGreenletHub hub, PythonWsgiThread thread, IErrorLog log, GreenletRequestHooks? hooks)
    {
        s_hub = hub;
        s_thread = thread;
        s_log = log;
        s_hooks = hooks;
    }

    public static void End()
    {
        foreach (var request in s_requests.Values)
        {
            request.Abort();
        }

        s_requests.Clear();
        s_invalidResponses.Clear();
        s_hub = null;
        s_thread = null;
        s_hooks = null;
    }

    /// <summary>A namespace object holding the functions (GIL held).</summary>
    public static PyObject CreateNamespace()
    {
        var ns = NativeFunction.NewNamespace();
        NativeFunction.Add(ns, "wake", (delegate* unmanaged<nint, nint, nint>)&Wake, CPython.METH_NOARGS);
        NativeFunction.Add(ns, "ready", (delegate* unmanaged<nint, nint, nint>)&Ready, CPython.METH_NOARGS);
        NativeFunction.Add(ns, "take", (delegate* unmanaged<nint, nint, nint>)&Take, CPython.METH_NOARGS);
        NativeFunction.Add(ns, "start", (delegate* unmanaged<nint, nint*, nint, nint>)&Start, CPython.METH_FASTCALL);
        NativeFunction.Add(ns, "respond", (delegate* unmanaged<nint, nint*, nint, nint>)&Respond, CPython.METH_FASTCALL);
        NativeFunction.Add(ns, "write", (delegate* unmanaged<nint, nint*, nint, nint>)&Write, CPython.METH_FASTCALL);
        NativeFunction.Add(ns, "sendfile", (delegate* unmanaged<nint, nint*, nint, nint>)&SendFile, CPython.METH_FASTCALL);
        NativeFunction.Add(ns, "read", (delegate* unmanaged<nint, nint*, nint, nint>)&Read, CPython.METH_FASTCALL);
        NativeFunction.Add(ns, "headers_sent", (delegate* unmanaged<nint, nint*, nint, nint>)&HeadersSent, CPython.METH_FASTCALL);
        NativeFunction.Add(ns, "finish", (delegate* unmanaged<nint, nint*, nint, nint>)&Finish, CPython.METH_FASTCALL);
        NativeFunction.Add(ns, "abort", (delegate* unmanaged<nint, nint*, nint, nint>)&Abort, CPython.METH_FASTCALL);
        NativeFunction.Add(ns, "fail", (delegate* unmanaged<nint, nint*, nint, nint>)&Fail, CPython.METH_FASTCALL);
        NativeFunction.Add(ns, "invalid", (delegate* unmanaged<nint, nint*, nint, nint>)&Invalid, CPython.METH_FASTCALL);
        NativeFunction.Add(ns, "log", (delegate* unmanaged<nint, nint*, nint, nint>)&LogMessage, CPython.METH_FASTCALL);
        NativeFunction.Add(ns, "hook_request", (delegate* unmanaged<nint, nint*, nint, nint>)&HookRequest, CPython.METH_FASTCALL);
        NativeFunction.Add(ns, "hook_worker", (delegate* unmanaged<nint, nint, nint>)&HookWorkerSnapshot, CPython.METH_NOARGS);
        NativeFunction.Add(ns, "hook_rewritten", (delegate* unmanaged<nint, nint*, nint, nint>)&HookRewritten, CPython.METH_FASTCALL);
        return ns;
    }

    /// <summary>
    /// wake(): acknowledges a wake-up and records that the loop turned; 0 while serving, 1 once the worker is stopping
    /// (running greenlets are waited for), 2 once it stops now (they are killed).
    /// </summary>
    [UnmanagedCallersOnly]
    private static nint Wake(nint self, nint unused)
    {
        var hub = s_hub;
        if (hub is null)
        {
            return Raise("the hub is not running");
        }

        hub.ClearWake();
        hub.Turned();
        return CPython.PyLong_FromLongLong(hub.IsStoppingNow ? 2 : hub.IsStopping ? 1 : 0);
    }

    /// <summary>ready(): the id of a request whose greenlet may stop waiting, or -1.</summary>
    [UnmanagedCallersOnly]
    private static nint Ready(nint self, nint unused)
    {
        var hub = s_hub;
        if (hub is null)
        {
            return Raise("the hub is not running");
        }

        return CPython.PyLong_FromLongLong(hub.TryTakeReady(out var id) ? id : -1);
    }

    /// <summary>take(): the next request's environ (its id under "unicorn.id"), or None.</summary>
    [UnmanagedCallersOnly]
    private static nint Take(nint self, nint unused)
    {
        try
        {
            var hub = s_hub;
            if (hub is null || s_thread is null)
            {
                return Raise("the hub is not running");
            }

            while (hub.TryTake(out var request))
            {
                var environ = s_thread.BuildGreenletEnviron(request.Request, request.Id);
                if (environ != 0)
                {
                    s_requests[request.Id] = request;
                    return environ;
                }

                // environ could not be built (a Python error): that request gets a 500, the others go on.
                var traceback = s_thread.TakeTraceback();
                request.Fail($"Error handling request {request.Request.Method} {request.Request.RawUri}", traceback);
            }

            return CPython.NewRef(CPython.Py_None);
        }
        catch (Exception e)
        {
            return Raise(e.Message);
        }
    }

    /// <summary>start(id, status, headers): the status and headers start_response was given.</summary>
    [UnmanagedCallersOnly]
    private static nint Start(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 3 || Find(args[0]) is not { } request)
            {
                return CPython.PyErr_Occurred() != 0 ? 0 : Raise("start() takes three arguments");
            }

            if (!TryReadHead(args[1], args[2], out var status, out var headers))
            {
                return 0;
            }

            SetResponse(request, status, headers);
            return CPython.NewRef(CPython.Py_None);
        }
        catch (InvalidResponseException e)
        {
            return Raise("invalid response: " + e.Message);
        }
        catch (Exception e)
        {
            return Raise(e.Message);
        }
    }

    /// <summary>
    /// respond(id, status, headers, body): start, write and finish in one call, for a small list body (the
    /// common case): one crossing instead of three; the exchange sends it from the hub when the socket takes it all
    /// at once, otherwise the body and the end reach the drain together.
    /// 0 done; 2 the client went away (the request is still open: abort it).
    /// </summary>
    [UnmanagedCallersOnly]
    private static nint Respond(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 4 || Find(args[0]) is not { } request)
            {
                return CPython.PyErr_Occurred() != 0 ? 0 : Raise("respond() takes four arguments");
            }

            byte* p;
            nint n;
            if (!TryReadHead(args[1], args[2], out var status, out var headers) || CPython.PyBytes_AsStringAndSize(args[3], &p, &n) != 0)
            {
                return 0;
            }

            SetResponse(request, status, headers);
            var outcome = request.Respond(new ReadOnlySpan<byte>(p, checked((int)n)));
            if (outcome != GreenletWrite.ClientGone)
            {
                s_requests.Remove(request.Id);
            }

            return CPython.PyLong_FromLongLong((long)outcome);
        }
        catch (InvalidResponseException e)
        {
            return Raise("invalid response: " + e.Message);
        }
        catch (Exception e)
        {
            return Raise(e.Message);
        }
    }

    /// <summary>The status and headers list start_response was given, or false with a Python error set.</summary>
    /// <summary>The head for the request; why the server refused it is kept, so that the failure the greenlet then
    /// reports is logged as that one line (<see cref="Fail"/>).</summary>
    private static void SetResponse(IGreenletRequest request, string status, List<KeyValuePair<string, string>> headers)
    {
        try
        {
            request.SetResponse(status, headers);
        }
        catch (InvalidResponseException e)
        {
            s_invalidResponses[request.Id] = e.Message;
            throw;
        }

        s_invalidResponses.Remove(request.Id);
    }

    private static bool TryReadHead(nint statusObject, nint headersObject, out string status, out List<KeyValuePair<string, string>> headers)
    {
        headers = [];
        status = CPython.ToStringOrNull(statusObject)!;
        if (status is null)
        {
            return false;
        }

        var count = CPython.PyList_Size(headersObject);
        if (count < 0)
        {
            return false;
        }

        headers.Capacity = (int)count;
        for (var i = 0; i < count; i++)
        {
            var item = CPython.PyList_GetItem(headersObject, i);
            if (CPython.PyTuple_Size(item) != 2)
            {
                CPython.PyErr_Clear();
                Raise($"invalid response: header {i} is not a (name, value) tuple", CPython.PyExc_TypeError);
                return false;
            }

            var name = CPython.ToStringOrNull(CPython.PyTuple_GetItem(item, 0));
            var value = name is null ? null : CPython.ToStringOrNull(CPython.PyTuple_GetItem(item, 1));
            if (name is null || value is null)
            {
                CPython.PyErr_Clear();
                Raise($"invalid response: header {i}: name and value must be str", CPython.PyExc_TypeError);
                return false;
            }

            headers.Add(new(name, value));
        }

        return true;
    }

    /// <summary>write(id, data): 0 taken, 1 taken but wait for the drain, 2 the client went away.</summary>
    [UnmanagedCallersOnly]
    private static nint Write(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 2 || Find(args[0]) is not { } request)
            {
                return CPython.PyErr_Occurred() != 0 ? 0 : Raise("write() takes two arguments");
            }

            byte* p;
            nint n;
            if (CPython.PyBytes_AsStringAndSize(args[1], &p, &n) != 0)
            {
                return 0;
            }

            var outcome = request.Write(new ReadOnlySpan<byte>(p, checked((int)n)));
            return CPython.PyLong_FromLongLong((long)outcome);
        }
        catch (Exception e)
        {
            return Raise(e.Message);
        }
    }

    /// <summary>sendfile(id, fd, offset, count): as write(), for a file; the server owns fd (a dup) from here on.</summary>
    [UnmanagedCallersOnly]
    private static nint SendFile(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 4 || Find(args[0]) is not { } request)
            {
                return CPython.PyErr_Occurred() != 0 ? 0 : Raise("sendfile() takes four arguments");
            }

            var fd = CPython.PyLong_AsLongLong(args[1]);
            var offset = CPython.PyLong_AsLongLong(args[2]);
            var count = CPython.PyLong_AsLongLong(args[3]);
            if (CPython.PyErr_Occurred() != 0)
            {
                return 0;
            }

            var outcome = request.SendFile(new Microsoft.Win32.SafeHandles.SafeFileHandle((nint)fd, ownsHandle: true), offset, count);
            return CPython.PyLong_FromLongLong((long)outcome);
        }
        catch (Exception e)
        {
            return Raise(e.Message);
        }
    }

    /// <summary>read(id, n): up to n bytes of a streamed body (b"" at its end), or None while a read is under way.</summary>
    [UnmanagedCallersOnly]
    private static nint Read(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 2 || Find(args[0]) is not { } request)
            {
                return CPython.PyErr_Occurred() != 0 ? 0 : Raise("read() takes two arguments");
            }

            var size = CPython.PyLong_AsLongLong(args[1]);
            if (CPython.PyErr_Occurred() != 0)
            {
                return 0;
            }

            var want = (int)Math.Clamp(size, 0, PythonWsgiThread.MaxReadSize);
            var bytes = CPython.NewBytes(want, out var destination);
            if (bytes == 0)
            {
                return 0;
            }

            int n;
            try
            {
                n = request.TryRead(new Span<byte>(destination, want));
            }
            catch (IOException e)
            {
                // The client's failure, worded as the thread workers' wsgi.input words it (no "unicorn: " of a server error).
                CPython.Py_DecRef(bytes);
                return NativeFunction.Raise(e.Message, CPython.PyExc_OSError);
            }

            if (n < 0)
            {
                CPython.Py_DecRef(bytes);
                return CPython.NewRef(CPython.Py_None);
            }

            return CPython.CutBytes(bytes, n, want);
        }
        catch (Exception e)
        {
            return Raise(e.Message);
        }
    }

    /// <summary>headers_sent(id): start_response's exc_info rule.</summary>
    [UnmanagedCallersOnly]
    private static nint HeadersSent(nint self, nint* args, nint nargs)
    {
        if (nargs != 1 || Find(args[0]) is not { } request)
        {
            return CPython.PyErr_Occurred() != 0 ? 0 : Raise("headers_sent() takes one argument");
        }

        return CPython.NewRef(request.HeadersSent ? CPython.Py_True : CPython.Py_False);
    }

    /// <summary>finish(id): the response ended normally.</summary>
    [UnmanagedCallersOnly]
    private static nint Finish(nint self, nint* args, nint nargs) => End(args, nargs, static (r, _) => r.Complete());

    /// <summary>abort(id): the response ended abnormally.</summary>
    [UnmanagedCallersOnly]
    private static nint Abort(nint self, nint* args, nint nargs) => End(args, nargs, static (r, _) => r.Abort());

    /// <summary>fail(id, traceback): the app raised; logged, then a 500 or a closed connection.</summary>
    [UnmanagedCallersOnly]
    private static nint Fail(nint self, nint* args, nint nargs) =>
        End(args, nargs, static (r, tb) =>
        {
            if (s_invalidResponses.Remove(r.Id, out var invalid))
            {
                // As the threaded host: the app's response broke PEP 3333, one line, no traceback of the server's check.
                r.Fail($"Error handling request {r.Request.Method} {r.Request.RawUri}: invalid response from the application: {invalid}", "");
            }
            else
            {
                r.Fail($"Error handling request {r.Request.Method} {r.Request.RawUri}", tb ?? "");
            }
        });

    /// <summary>invalid(id, message): the app's response broke PEP 3333 where Python saw it (a str body item); the fail() that follows logs it as one line.</summary>
    [UnmanagedCallersOnly]
    private static nint Invalid(nint self, nint* args, nint nargs)
    {
        if (nargs < 2 || Find(args[0]) is not { } request)
        {
            return CPython.PyErr_Occurred() != 0 ? 0 : Raise("expected a request id and a message");
        }

        if (CPython.ToStringOrNull(args[1]) is not { } message)
        {
            return 0;
        }

        s_invalidResponses[request.Id] = message;
        return CPython.NewRef(CPython.Py_None);
    }

    /// <summary>log(level, message[, traceback]): a line in the server's error log, with a traceback as Exception logs it.</summary>
    [UnmanagedCallersOnly]
    private static nint LogMessage(nint self, nint* args, nint nargs) => NativeCallbacks.WriteLog(s_log, args, nargs);

    /// <summary>hook_request(id): the request's snapshot as the config file's call_request takes it (JSON, ASCII).</summary>
    [UnmanagedCallersOnly]
    private static nint HookRequest(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 1 || Find(args[0]) is not { } request)
            {
                return CPython.PyErr_Occurred() != 0 ? 0 : Raise("hook_request() takes a request id");
            }

            return CPython.FromLatin1Chars(PythonServerHooks.RequestSnapshotJson(request.Request));
        }
        catch (Exception e)
        {
            return Raise(e.Message);
        }
    }

    /// <summary>hook_rewritten(id, json): what pre_request set on req (call_request's JSON), for the access line.</summary>
    [UnmanagedCallersOnly]
    private static nint HookRewritten(nint self, nint* args, nint nargs)
    {
        try
        {
            if (nargs != 2 || Find(args[0]) is not { } request || CPython.ToStringOrNull(args[1]) is not { } json)
            {
                return CPython.PyErr_Occurred() != 0 ? 0 : Raise("hook_rewritten() takes a request id and a str");
            }

            request.Request.RewrittenAs = PythonServerHooks.Rewritten(request.Request, json);
            return CPython.NewRef(CPython.Py_None);
        }
        catch (Exception e)
        {
            return Raise(e.Message);
        }
    }

    /// <summary>hook_worker(): the worker's snapshot (pid, age...) as the request hooks' worker object shows it (JSON).</summary>
    [UnmanagedCallersOnly]
    private static nint HookWorkerSnapshot(nint self, nint unused)
    {
        try
        {
            return s_hooks is null
                ? Raise("no request hooks")
                : CPython.FromLatin1Chars(PythonServerHooks.WorkerSnapshotJson(s_hooks.Worker()));
        }
        catch (Exception e)
        {
            return Raise(e.Message);
        }
    }

    private static nint End(nint* args, nint nargs, Action<IGreenletRequest, string?> end)
    {
        try
        {
            if (nargs < 1 || Find(args[0]) is not { } request)
            {
                return CPython.PyErr_Occurred() != 0 ? 0 : Raise("expected a request id");
            }

            string? text = null;
            if (nargs > 1)
            {
                text = CPython.ToStringOrNull(args[1]);
                if (text is null)
                {
                    return 0;
                }
            }

            s_requests.Remove(request.Id);
            end(request, text);
            s_invalidResponses.Remove(request.Id);
            return CPython.NewRef(CPython.Py_None);
        }
        catch (Exception e)
        {
            return Raise(e.Message);
        }
    }

    private static IGreenletRequest? Find(nint id)
    {
        var key = CPython.PyLong_AsLongLong(id);
        if (CPython.PyErr_Occurred() != 0)
        {
            return null;
        }

        if (s_requests.TryGetValue(key, out var request))
        {
            return request;
        }

        CPython.SetError(CPython.PyExc_RuntimeError, "unicorn: the request has finished");
        return null;
    }

    private static nint Raise(string message, nint type = 0) => NativeFunction.Raise("unicorn: " + message, type);
}
