using Microsoft.Win32.SafeHandles;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;

namespace Unicorn.PythonBridge.ConfigFile;

/// <summary>
/// Wraps the application with what the config asks of every app thread: the <c>--spew</c> tracer, installed on each
/// Python thread as it attaches, and the <c>pre_request</c>/<c>post_request</c> hooks around each request. As in
/// Gunicorn, a <c>pre_request</c> that raises turns the request into a 500; one from <c>post_request</c> is only logged.
/// <c>post_request</c> receives the environ dict the app saw: the bridge keeps it for this wrapper only when that hook
/// is defined.
/// </summary>
public sealed class HookedApplication : IWsgiApplication
{
    private readonly IWsgiApplication _inner;
    private readonly PythonServerHooks? _hooks;
    private readonly bool _spew;
    private readonly Func<HookWorker> _worker;

    public HookedApplication(IWsgiApplication inner, PythonServerHooks? hooks, bool spew, Func<HookWorker> worker)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _hooks = hooks is { HasRequestHooks: true } ? hooks : null;
        _spew = spew;
        _worker = worker ?? throw new ArgumentNullException(nameof(worker));
    }

    /// <summary>Whether wrapping changes anything for these settings and hooks.</summary>
    public static bool IsNeeded(Settings settings, PythonServerHooks? hooks) =>
        settings?.Spew == true || hooks is { HasRequestHooks: true };

    public IWsgiThread AttachThread()
    {
        var thread = _inner.AttachThread();
        if (_spew)
        {
            Spew.InstallOnCurrentThread();
        }

        if (_hooks is null)
        {
            return thread;
        }

        if (_hooks.HasPostRequest && thread is PythonWsgiThread python)
        {
            python.KeepEnviron = true;
        }

        return new HookedThread(thread, _hooks, _worker);
    }

    private sealed class HookedThread(IWsgiThread inner, PythonServerHooks hooks, Func<HookWorker> worker) : IWsgiThread
    {
        private static readonly byte[] s_errorBody = "Internal Server Error"u8.ToArray();

        public void Invoke(WsgiRequest request, IResponseSink response)
        {
            var self = worker();
            WsgiRequest? rewritten;
            try
            {
                // Gunicorn builds the environ after pre_request, so what it set on req reaches the app.
                rewritten = request.RewrittenAs = hooks.PreRequest(self, request);
            }
            catch (HookFailedException)
            {
                if (!response.HeadersSent)
                {
                    response.SetResponse("500 Internal Server Error",
                        [new("Content-Type", "text/plain"), new("Content-Length", s_errorBody.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
                    response.Write(s_errorBody);
                    response.Complete();
                }

                return;
            }

            var recorder = new RecordingSink(response);
            inner.Invoke(rewritten ?? request, recorder);
            var environ = inner is PythonWsgiThread python ? python.TakeEnviron() : 0;
            try
            {
                // The request as pre_request saw it, so post_request gets the same req object back.
                hooks.PostRequest(self, request, recorder.Status ?? "500 Internal Server Error", recorder.Headers, recorder.Sent, environ);
            }
            catch (HookFailedException)
            {
                // Logged with its traceback; the response has gone already.
            }
        }

        public void Dispose() => inner.Dispose();
    }

    /// <summary>Passes everything through and remembers what post_request's resp shows.</summary>
    private sealed class RecordingSink(IResponseSink inner) : IResponseSink
    {
        public string? Status { get; private set; }

        public IReadOnlyList<KeyValuePair<string, string>> Headers { get; private set; } = [];

        public long Sent { get; private set; }

        public bool HeadersSent => inner.HeadersSent;

        public void SetResponse(string status, IReadOnlyList<KeyValuePair<string, string>> headers)
        {
            inner.SetResponse(status, headers);
            Status = status;
            Headers = headers;
        }

        public void Write(ReadOnlySpan<byte> data)
        {
            inner.Write(data);
            Sent += data.Length;
        }

        public void Flush() => inner.Flush();

        public void SendEarlyHints(IReadOnlyList<KeyValuePair<string, string>> headers) => inner.SendEarlyHints(headers);
        public void WriteAndFlush(ReadOnlySpan<byte> data)
        {
            inner.WriteAndFlush(data);
            Sent += data.Length;
        }

        public bool TrySendFile(SafeFileHandle file, long offset, long count)
        {
            var sent = inner.TrySendFile(file, offset, count);
            Sent += sent ? count : 0;
            return sent;
        }

        public void Complete() => inner.Complete();

        public void Abort() => inner.Abort();
    }
}
