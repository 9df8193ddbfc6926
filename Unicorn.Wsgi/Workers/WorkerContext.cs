using System.Net;
using Unicorn.Wsgi.Http;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Workers.Hosts;

namespace Unicorn.Wsgi.Workers;

/// <summary>What every connection of one worker shares.</summary>
internal sealed class WorkerContext(WorkerOptions options, IAppHost host, IErrorLog log, CancellationToken stopping, Action onRequestStarting, Action<CompletedRequest> onRequestDone,
    Action<BadHttpRequestException, IPEndPoint?>? onRequestRefused = null)
{
    public WorkerOptions Options { get; } = options;

    /// <summary>Where each request runs: the worker class's app host.</summary>
    public IAppHost Host { get; } = host;

    public IErrorLog Log { get; } = log;

    public RequestFactory Requests { get; } = new(options);

    /// <summary>HTTP/1 parsers and request heads, reused from one connection to the next.</summary>
    public ParserPool Parsers { get; } = new(options.Parser);

    /// <summary>h2c by HTTP/1.1 Upgrade (http2_cleartext = upgrade or both, cleartext listeners); null when off.</summary>
    public Http2CleartextUpgrade? Http2Upgrade { get; set; }

    /// <summary>Cancelled when the worker stops taking requests (graceful or not).</summary>
    public CancellationToken Stopping { get; } = stopping;

    /// <summary>Called as each request starts, before its response head is decided (max_requests counts here).</summary>
    public void OnRequestStarting() => onRequestStarting();

    public void OnRequestDone(CompletedRequest request) => onRequestDone(request);

    /// <summary>
    /// A request was refused (<paramref name="rejection"/>; its warning already logged) from <paramref name="peer"/>, the
    /// socket's peer: when the refusal carries the request's head, it is access-logged, as Gunicorn's handle_error does.
    /// </summary>
    public void OnRequestRefused(BadHttpRequestException rejection, IPEndPoint? peer)
    {
        if (rejection.Head is not null)
        {
            onRequestRefused?.Invoke(rejection, peer);
        }
    }
}
