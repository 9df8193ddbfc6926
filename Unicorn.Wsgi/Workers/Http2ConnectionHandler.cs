using System.Net;
using System.Text;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Connections;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// The HTTP/2 protocol handler: Kestrel's HTTP/2 (HPACK, flow control, stream state and their flood
/// defences), fed with Unicorn's own connections after their PROXY and TLS stages through Kestrel's transport
/// abstraction (<see cref="Http2ConnectionQueue"/>). Kestrel never binds a socket nor does TLS; each stream
/// reaches the worker's app host through <see cref="Http2Application"/>. Built only when http_protocols offers
/// h2, so a worker without it never loads ASP.NET Core.
/// </summary>
internal sealed class Http2ConnectionHandler : IConnectionHandler, IAsyncDisposable
{
    /// <summary>The ALPN name TLS offers for it.</summary>
    public const string ApplicationProtocol = "h2";

    private readonly WorkerContext _worker;
    private readonly Http2ConnectionQueue _queue = new();
    private readonly Http2MemoryPool _memory = new();
    private readonly KestrelServer _server;
    private readonly Lazy<Task> _started;
    private long _connectionIds;
    private int _abandoned;

    /// <summary>How long Kestrel may hold a connection it aborted, with no stream in the app, before Unicorn lets it go.</summary>
    internal static readonly TimeSpan AbandonAfter = TimeSpan.FromSeconds(2);

    public Http2ConnectionHandler(WorkerContext worker, Settings settings)
    {
        _worker = worker;
        var log = new Http2KestrelLog(worker.Log);
        var options = KestrelOptions(worker.Options, settings);
        options.ApplicationServices = new ServiceCollection().AddSingleton<Microsoft.Extensions.Logging.ILoggerFactory>(log).BuildServiceProvider();
        _server = new KestrelServer(Options.Create(options), _queue, log);
        var earlyHints = Http2EarlyHints.Detect(worker.Log);
        _started = new Lazy<Task>(() => _server.StartAsync(new Http2Application(worker, earlyHints), CancellationToken.None));
    }

    public async Task RunAsync(ConnectionContext connection)
    {
        await _started.Value;
        var transport = new Http2TransportConnection(connection, $"{Interlocked.Increment(ref _connectionIds)} from ip={connection.RemoteText}", _worker.Log, _memory);
        if (!_queue.TryEnqueue(transport))
        {
            return;
        }

        // A graceful stop or max_requests: GOAWAY, then the streams in flight finish. So too when the worker is
        // full and this connection has been idle (no stream open) longest, as an idle HTTP/1.1 connection is closed.
        using var stopping = _worker.Stopping.Register(static t => ((Http2TransportConnection)t!).RequestClose(), transport);
        using var evicted = connection.Evicted.Register(static t => ((Http2TransportConnection)t!).RequestClose(), transport);
        transport.StreamEnded(); // handed over: idle until a stream reaches the app
        try
        {
            if (!await transport.ReleasedAsync(AbandonAfter))
            {
                Abandoned(transport);
            }
        }
        finally
        {
            transport.Finish();
        }
    }

    /// <summary>
    /// The connection's socket and slot are let go. Nothing roots what Kestrel keeps of it but the weak reference of
    /// Kestrel's connection manager, so the GC reclaims it (Kestrel then logs "application never completed").
    /// </summary>
    private void Abandoned(Http2TransportConnection transport)
    {
        var count = Interlocked.Increment(ref _abandoned);
        _worker.Log.Info($"HTTP/2: Connection id \"{transport.ConnectionId}\": still held by Kestrel {AbandonAfter.TotalSeconds:0} s after it aborted the connection, with no stream running; left to it ({count} so far)");
    }

    public async ValueTask DisposeAsync()
    {
        if (_started.IsValueCreated)
        {
            // Every connection has ended on Unicorn's side by now: any Kestrel still holds is one it will never let
            // go of, and waiting for it would only delay the worker's exit.
            using var cts = new CancellationTokenSource(Volatile.Read(ref _abandoned) > 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(5));
            await _server.StopAsync(cts.Token);
        }

        _server.Dispose();
        _memory.Dispose();
    }

    /// <summary>Kestrel's limits from the http2_* and limit_request_* settings (docs/http2.md lists the mapping).</summary>
    internal static KestrelServerOptions KestrelOptions(WorkerOptions worker, Settings settings)
    {
        var options = new KestrelServerOptions
        {
            AddServerHeader = false,
            // TLS is Unicorn's, so Kestrel sees a plain transport: let ":scheme https" through.
            AllowAlternateSchemes = true,
            // Header bytes are latin-1 both ways, one char per byte, as on HTTP/1.1.
            RequestHeaderEncodingSelector = static _ => Encoding.Latin1,
            ResponseHeaderEncodingSelector = static _ => Encoding.Latin1,
        };
        var limits = options.Limits;
        // Gunicorn has no body size limit, and bounds slow clients by timeout per read, not by a data rate.
        limits.MaxRequestBodySize = null;
        limits.MinRequestBodyDataRate = null;
        limits.MinResponseDataRate = null;
        limits.MaxConcurrentConnections = null;
        limits.RequestHeadersTimeout = worker.ReadTimeout;
        // An idle HTTP/2 connection is closed after keepalive, as an idle HTTP/1.1 one; keepalive 0 (no
        // keep-alive on HTTP/1.1) would close it between two streams, so timeout bounds it then.
        limits.KeepAliveTimeout = worker.KeepAlive > TimeSpan.Zero ? worker.KeepAlive : worker.ReadTimeout;
        var parser = worker.Parser;
        // The HTTP/1 parser's rules give Gunicorn's answers (431, 400) to the limit_request_* it checks per
        // stream; Kestrel's own limits sit just above them, so they only catch what the parser never sees.
        // Kestrel counts the pseudo-headers too (:method, :scheme, :authority, :path, and :protocol for an extended
        // CONNECT), which the parser never sees: without room for them a stream with limit_request_fields fields (as
        // HTTP/1.1 takes) got Kestrel's bare 431, and twice as many a GOAWAY for the whole connection.
        limits.MaxRequestHeaderCount = parser.EffectiveLimitRequestFields + 5 + 1;
        var headerList = settings.Http2MaxHeaderListSize > 0 ? settings.Http2MaxHeaderListSize : int.MaxValue;
        limits.MaxRequestHeadersTotalSize = headerList;
        var http2 = limits.Http2;
        http2.MaxStreamsPerConnection = settings.Http2MaxConcurrentStreams;
        http2.InitialStreamWindowSize = settings.Http2InitialWindowSize;
        // The connection window holds every stream's: at least as large as one stream's, and Kestrel's default.
        http2.InitialConnectionWindowSize = Math.Max(settings.Http2InitialWindowSize, http2.InitialConnectionWindowSize);
        http2.MaxFrameSize = settings.Http2MaxFrameSize;
        http2.MaxRequestHeaderFieldSize = Math.Min(headerList,
            Math.Max(http2.MaxRequestHeaderFieldSize, Math.Max(parser.EffectiveLimitRequestFieldSize, parser.EffectiveLimitRequestLine) + 1));
        options.Listen(new IPEndPoint(IPAddress.Loopback, 0), static l => l.Protocols = HttpProtocols.Http2);
        return options;
    }
}
