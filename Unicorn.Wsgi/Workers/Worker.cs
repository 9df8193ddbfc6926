using System.Net.Sockets;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Http;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Transport.Tls;
using Unicorn.Wsgi.Workers.Hosts;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// One worker: accepts on the inherited listeners, runs connections on .NET async I/O, and runs the app
/// in its worker class's <see cref="IAppHost"/> (sync: 1 Python thread, gthread: --threads). Process
/// concerns (signals, heartbeat, hand-over from the master) belong to <c>WorkerProcess</c>; this class
/// runs equally in a test.
/// </summary>
public sealed partial class Worker
{
    private readonly Settings _settings;
    // When every connection slot is taken and no connection has idled long enough to be shed, how often to look again.
    private static readonly TimeSpan FullRetry = TimeSpan.FromMilliseconds(50);

    private readonly IReadOnlyList<ListenerInfo> _listeners;
    private readonly IErrorLog _log;
    private readonly WorkerOptions _options;
    private readonly IAppHost _host;
    private readonly TlsServer? _tls;
    private readonly CancellationTokenSource _stopAccepting = new();
    private readonly CancellationTokenSource _closeOwnListeners = new();
    private readonly CancellationTokenSource _stopNow = new();
    private Task? _appSignalHandler;
    private readonly SemaphoreSlim _connectionSlots;
    private readonly AcceptShortage _acceptShortage;
    private readonly long _maxRequests;
    // Open connections, plus one while any accept loop runs; whoever takes it to zero completes _drained.
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // A promoted spare's debug trace (TraceFirstRequest): each runs once, as the first request starts and ends.
    private Action? _firstRequestStarting;
    private Action? _firstRequestDone;
    // Closed while a spare is parked (StartParked): everything is running but nothing accepts until Open.
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile IdleAcceptor? _idleAcceptor;
    private int _open = 1;
    private long _requestCount;
    private long _requestsStarted;
    private int _maxRequestsFired;
    private bool _noDelayInherited;

    public Worker(Settings settings, IReadOnlyList<Socket> listeners, IWsgiApplication app, IErrorLog log)
        : this(settings, listeners.Select(s => new ListenerInfo(s)).ToList(), app, log)
    {
    }

    public Worker(Settings settings, IReadOnlyList<ListenerInfo> listeners, IWsgiApplication app, IErrorLog log)
        : this(settings, listeners, new WsgiOnlyApp(app), log)
    {
    }

    /// <param name="hub">The thread <paramref name="app"/> was loaded on when the worker class needs one (<see cref="HubThread"/>).</param>
    public Worker(Settings settings, IReadOnlyList<ListenerInfo> listeners, ILoadedApp app, IErrorLog log, HubThread? hub = null)
        : this(settings, listeners, AppHosts.Create(settings, app, log, hub), log)
    {
    }

    /// <summary>A worker whose app runs in <paramref name="host"/> (the registry's choice for the settings, or a test's).</summary>
    internal Worker(Settings settings, IReadOnlyList<ListenerInfo> listeners, IAppHost host, IErrorLog log)
    {
        _settings = settings;
        // The master checked the same files before binding (TlsServer.FromSettings), so this does not fail
        // unless they changed since.
        _tls = TlsServer.FromSettings(settings, Environment.CurrentDirectory);
        _listeners = _tls is null ? listeners : [.. listeners.Select(l => l.Scheme == "https" ? l : new ListenerInfo(l.Socket, "https") { OwnedByWorker = l.OwnedByWorker })];
        _log = log;
        // _open counts the connections being served, plus one until the worker stops.
        _acceptShortage = new AcceptShortage(log, () => Volatile.Read(ref _open) - 1);
        _options = WorkerOptions.FromSettings(settings);
        _host = host;
        _connectionSlots = new SemaphoreSlim(_options.MaxConnections);
        _maxRequests = MaxRequestsWithJitter(settings);
    }

    /// <summary>
    /// Fired once, as the max_requests'th (plus jitter) request starts, on that connection's thread; that
    /// response already says Connection: close if a handler stops the worker accepting (<see cref="BeginRetire"/>).
    /// </summary>
    public event Action? MaxRequestsReached;

    /// <summary>Fired after every request, off the Python thread (access log, metrics).</summary>
    internal event Action<CompletedRequest>? RequestCompleted;

    /// <summary>Receives an access-log entry per finished request, on a connection's thread-pool thread.</summary>
    public Action<AccessLogEntry>? AccessLog { get; set; }

    public long RequestCount => Interlocked.Read(ref _requestCount);

    /// <summary>max_requests with this worker's jitter (0: no limit), as the hooks' <c>worker.max_requests</c> shows it.</summary>
    public long MaxRequests => _maxRequests;

    /// <summary>Requests running in the app (busy Python threads), for the metrics gauges.</summary>
    public int BusyThreads => _host.Busy;

    /// <summary>Requests the app host can run at once (Python threads), for the metrics gauges.</summary>
    public int ThreadCount => _host.Capacity;

    public int QueueDepth => _host.Queued;

    /// <summary>
    /// False when every Python thread has been stuck in one request for longer than
    /// <paramref name="timeout"/>; the heartbeat stops and the master's timeout applies.
    /// </summary>
    public bool IsResponsive(TimeSpan timeout) => _host.IsResponsive(timeout);

    /// <inheritdoc cref="IAppHost.AllBusySince"/>
    public long? AllBusySince() => _host.AllBusySince();

    /// <summary>Requests running longer than <paramref name="limit"/> (max_request_time), with their threads.</summary>
    public IReadOnlyList<Hosts.RunningRequest> RunningLongerThan(TimeSpan limit) => _host.RunningLongerThan(limit);

    /// <summary>
    /// The worker is being aborted (the master's timeout): each request the app holds whose response has not begun
    /// is answered 500 and logged as Gunicorn 26.1's sync worker logs it, the error line (with
    /// <paramref name="stackOf"/> the request's stack) and then its access line.
    /// </summary>
    public void AnswerAbortedRequests(Func<Hosts.RunningRequest, string> stackOf)
    {
        foreach (var (running, request) in _host.AnswerAbortedRequests())
        {
            _log.Exception($"Error handling request {running.Method} {running.Uri}", stackOf(running));
            OnRequestDone(new CompletedRequest(request, AbortedResponse.Instance, DateTimeOffset.UtcNow - running.Elapsed, running.Elapsed));
        }
    }

    /// <summary>What the access line of an aborted request reads: Gunicorn's handle_error logs its 500 with no body bytes.</summary>
    private sealed class AbortedResponse : ICompletedResponse
    {
        public static readonly AbortedResponse Instance = new();

        public string Status => "500 Internal Server Error";

        public long BodyBytesSent => 0;

        public IReadOnlyList<KeyValuePair<string, string>> Headers => [];
    }

    /// <summary>Serves until stopped; completes when all connections are done.</summary>
    public Task RunAsync()
    {
        Open();
        return RunGatedAsync();
    }

    /// <summary>
    /// worker_spares: builds the pipeline and starts the app host's threads and accept loops now, but accepts
    /// nothing until <see cref="Open"/>, so a promoted spare's first connection crosses no thread start, no
    /// set-up and no first-call JIT of this path. The task is <see cref="RunAsync"/>'s.
    /// </summary>
    public Task StartParked() => RunGatedAsync();

    /// <summary>
    /// Lets a worker started by <see cref="StartParked"/> accept: safe on any thread (a signal handler's),
    /// and more than once. The sync host's idle thread is woken through its acceptor's eventfd.
    /// </summary>
    public void Open()
    {
        if (_gate.TrySetResult())
        {
            _idleAcceptor?.Open();
        }
    }

    private async Task RunGatedAsync()
    {
        // Stopped while parked: the loops waiting at the gate go on to see the stop.
        using var stopOpens = _stopAccepting.Token.Register(static s => ((Worker)s!).Open(), this);
        var context = new WorkerContext(_options, _host, _log, _stopAccepting.Token, OnRequestStarting, OnRequestDone, OnRequestRefused);
        var http1 = new Http1ConnectionHandler(context);
        var uwsgi = _settings.UwsgiProtocol;
        var priorKnowledge = !uwsgi && _settings.Http2PriorKnowledge && _settings.OffersHttp2;
        // h2c by Upgrade is for cleartext listeners (RFC 7540 §3.2): with certfile, ALPN chooses HTTP/2.
        var upgrade = !uwsgi && _tls is null && _settings.Http2CleartextUpgrade && _settings.OffersHttp2 && _settings.OffersHttp1;
        var http2 = !uwsgi && (_tls is not null || priorKnowledge || upgrade) && _settings.OffersHttp2 ? CreateHttp2(context) : null;
        if (!uwsgi && _tls is null && _settings.OffersHttp2 && !priorKnowledge && !upgrade)
        {
            // As Gunicorn, h2 needs TLS (ALPN) or h2c; said once rather than ignored silently.
            _log.Warning("http_protocols offers h2 but no certfile is set: HTTP/2 needs TLS (ALPN h2) or http2_cleartext; serving HTTP/1.1 only");
        }

        if (!uwsgi && _settings.Http2Cleartext && !_settings.OffersHttp2)
        {
            _log.Warning("http2_cleartext needs h2 in http_protocols; serving HTTP/1.1 only");
        }

        if (!uwsgi && _settings.Http2CleartextUpgrade && _settings.OffersHttp2 && !upgrade)
        {
            _log.Warning(_tls is not null
                ? "http2_cleartext = upgrade applies to cleartext listeners; with certfile, TLS clients choose HTTP/2 by ALPN"
                : "http2_cleartext = upgrade needs h1 in http_protocols (the Upgrade request is HTTP/1.1)");
        }

        if (upgrade)
        {
            context.Http2Upgrade = new Http2CleartextUpgrade(http2!, _options.ReadTimeout);
        }

        // With h2c, connections without ALPN (cleartext ones) begin with a look at their first bytes.
        var noAlpn = priorKnowledge && _settings.OffersHttp1 ? new PriorKnowledgeConnectionHandler(http1, http2!, _options) : null;

        // protocol = uwsgi: every connection speaks uwsgi (nginx's uwsgi_pass), so TLS offers no ALPN name for it.
        var protocols = uwsgi
            ? new ProtocolHandlers(new UwsgiConnectionHandler(context))
            : http2 is null ? Http1Only(http1) : Http1AndHttp2(http1, http2, noAlpn);
        var pipeline = new ConnectionPipeline(_options.Parser, _options.ReadTimeout, _tls, protocols, _log);
        // At a stop, a connection still silent after keepalive (a second at least) is closed, not waited on for timeout.
        using var closeIdleAtStop = pipeline.Idle.CloseAfterStop(_stopAccepting.Token, _options.KeepAlive > TimeSpan.FromSeconds(1) ? _options.KeepAlive : TimeSpan.FromSeconds(1));
        _noDelayInherited = SetNoDelayOnListeners();
        // The sync worker's Python thread accepts itself when idle; other hosts leave it to the async loops.
        var acceptor = new IdleAcceptor(_listeners, _connectionSlots, pipeline.Idle, (client, listener) => Serve(client, listener, pipeline), _log, _stopAccepting.Token)
        {
            Shortage = _acceptShortage,
        };
        if (_host.AcceptWhenIdle(acceptor))
        {
            acceptor.Start(held: !_gate.Task.IsCompleted);
            _idleAcceptor = acceptor;
            if (_gate.Task.IsCompleted)
            {
                // Opened between the check and the store: the acceptor must not stay held.
                acceptor.Open();
            }
        }
        else
        {
            acceptor.Dispose();
            acceptor = null;
        }

        _host.Start();
        var accepting = _listeners.Select(l => AcceptLoopAsync(l, pipeline, acceptor)).ToArray();
        await Task.WhenAll(accepting);
        if (Interlocked.Decrement(ref _open) == 0)
        {
            _drained.TrySetResult();
        }

        await _drained.Task;
        if (http2 is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        if (Volatile.Read(ref _appSignalHandler) is { } appSignalHandler)
        {
            // The app's own TERM handler returns before its host stops: a callback it handed the host's loop
            // (an asgi app's loop.add_signal_handler) then runs before that loop stops. A quick stop does not wait.
            await Task.WhenAny(appSignalHandler, Task.Delay(Timeout.Infinite, _stopNow.Token));
        }

        var stopped = await _host.StopAsync(TimeSpan.FromSeconds(_settings.GracefulTimeout > 0 ? _settings.GracefulTimeout : 30));
        if (stopped)
        {
            // A thread still stuck in the app could yet wake the acceptor: its eventfd stays open then.
            acceptor?.Dispose();
        }
    }

    private static ProtocolHandlers Http1Only(IConnectionHandler http1) =>
        new ProtocolHandlers(http1).Add(Http1ConnectionHandler.ApplicationProtocol, http1);

    /// <summary>
    /// ALPN offers http_protocols' order. A client that agrees on no protocol gets HTTP/1.1 when h1 is offered
    /// (or, with h2c, whatever its first bytes say: <paramref name="noAlpn"/>); with h2 alone it gets HTTP/2,
    /// which an HTTP/1.1 client fails at its first line (Gunicorn's "HTTP/2 only").
    /// </summary>
    private ProtocolHandlers Http1AndHttp2(IConnectionHandler http1, IConnectionHandler http2, IConnectionHandler? noAlpn)
    {
        var protocols = new ProtocolHandlers(_settings.OffersHttp1 ? noAlpn ?? http1 : http2);
        foreach (var protocol in _settings.HttpProtocols)
        {
            _ = protocol == "h2"
                ? protocols.Add(Http2ConnectionHandler.ApplicationProtocol, http2)
                : protocols.Add(Http1ConnectionHandler.ApplicationProtocol, http1);
        }

        return protocols;
    }

    // Its own method, so that a worker without h2 never JIT-compiles a reference to Kestrel and never loads it.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private IConnectionHandler CreateHttp2(WorkerContext context) => new Http2ConnectionHandler(context, _settings);

    /// <summary>
    /// Stops taking new connections and requests (max_requests): the connections it has finish their
    /// current request and close; shared listeners are left to the other workers and the replacement.
    /// Its own reuse_port slot stays open without being accepted from until <see cref="BeginGracefulStop"/>
    /// drains it and closes this worker's copy.
    /// </summary>
    public void BeginRetire() => _stopAccepting.Cancel();

    /// <summary>
    /// Stops accepting; connections finish their current request, then close. <paramref name="appSignalHandler"/>
    /// is the app's own TERM handler, running: the app host is stopped once it has returned (or a quick stop came).
    /// </summary>
    public void BeginGracefulStop(Task? appSignalHandler = null)
    {
        Volatile.Write(ref _appSignalHandler, appSignalHandler);
        _stopAccepting.Cancel();
        _closeOwnListeners.Cancel();
    }

    /// <summary>Stops accepting and closes every connection now.</summary>
    public void StopNow()
    {
        _stopAccepting.Cancel();
        _closeOwnListeners.Cancel();
        _host.StopNow();
        _stopNow.Cancel();
    }

    private int _sharedReleased;

    /// <summary>
    /// Once accepting has stopped (<see cref="BeginGracefulStop"/>, <see cref="StopNow"/>), the worker process lets go
    /// of the listeners it shares with the master and the other workers, as Gunicorn's workers close theirs: at a
    /// master stop the master and the zygote have let go of theirs, and a new connection is then refused at once
    /// instead of waiting, unaccepted, in the queue until the last worker has finished its requests and exited (a load
    /// balancer retries a refusal elsewhere straight away). At a HUP, TTOU or recycle the master and the other workers
    /// still hold the socket, so nothing changes for them (nor, after USR2, for the new master's).
    /// The descriptor is pointed at a fresh unbound socket (dup2) rather than closed: the sync worker's thread may be
    /// inside poll(2) or accept(2) on that number, and .NET's Socket.Dispose of a listening socket it finds in use
    /// disconnects it, which would stop it listening for every process. Accepting from it later fails (EINVAL), which
    /// the accept loops, already stopping, take as their end. reuse_port sockets of the worker's own are drained and
    /// closed by <see cref="AcceptLoopAsync"/>. The worker process calls it, not the two stops: in-process tests share
    /// the descriptor itself with "the other workers".
    /// </summary>
    public void ReleaseSharedListeners()
    {
        if (!_stopAccepting.IsCancellationRequested || Interlocked.Exchange(ref _sharedReleased, 1) != 0)
        {
            return;
        }

        foreach (var listener in _listeners.Where(l => !l.OwnedByWorker).Select(l => l.Socket).Distinct())
        {
            LetGoOf(listener);
        }
    }

    /// <summary>
    /// Drops this process's reference to a listening socket other processes may hold too by pointing its descriptor
    /// at a fresh unbound socket (see <see cref="ReleaseSharedListeners"/>): never a shutdown(2), which would stop it
    /// listening for all of them.
    /// </summary>
    private static void LetGoOf(Socket listener)
    {
        int fd;
        try
        {
            fd = (int)listener.Handle;
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        var placeholder = Libc.socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (placeholder < 0)
        {
            return;
        }

        _ = Libc.dup2(placeholder, fd);
        _ = Libc.close(placeholder);
    }

    private async Task AcceptLoopAsync(ListenerInfo listener, ConnectionPipeline pipeline, IdleAcceptor? acceptor)
    {
        if (acceptor is null)
        {
            await _gate.Task;
            await AcceptUntilStoppedAsync(listener, pipeline);
        }
        else
        {
            await acceptor.Completion;
        }

        if (!listener.OwnedByWorker)
        {
            return;
        }

        if (!_closeOwnListeners.IsCancellationRequested)
        {
            // Retiring: the socket is drained only at the stop itself.
            await Task.Delay(Timeout.Infinite, _closeOwnListeners.Token).ContinueWith(static _ => { }, TaskScheduler.Default);
        }

        if (!_stopNow.IsCancellationRequested)
        {
            DrainAndClose(listener, pipeline);
        }
    }

    private async Task AcceptUntilStoppedAsync(ListenerInfo listener, ConnectionPipeline pipeline)
    {
        var token = _stopAccepting.Token;
        while (!token.IsCancellationRequested)
        {
            Socket client;
            try
            {
                // Full: make room by closing the connection idle longest; while none has idled long enough to be
                // shed, look again as they age (a slot freed meanwhile ends the wait).
                while (!_connectionSlots.Wait(0))
                {
                    if (pipeline.Idle.EvictOldest())
                    {
                        await _connectionSlots.WaitAsync(token);
                        break;
                    }

                    if (await _connectionSlots.WaitAsync(FullRetry, token))
                    {
                        break;
                    }
                }

                client = await listener.Socket.AcceptAsync(token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException e) when (IsTransient(e.SocketErrorCode))
            {
                _connectionSlots.Release();
                continue;
            }
            catch (SocketException e) when (AcceptShortage.Is(e.SocketErrorCode) && !token.IsCancellationRequested)
            {
                _connectionSlots.Release();
                _acceptShortage.Report(e.SocketErrorCode);
                if (!await WaitOutShortageAsync(token))
                {
                    return;
                }

                continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted || token.IsCancellationRequested)
            {
                // The listener was closed under a pending accept (ECANCELED), as a stop does: nothing more to accept.
                _connectionSlots.Release();
                return;
            }

            var more = _acceptShortage.Accepted(client);
            Serve(client, listener, pipeline);
            if (!more && !await WaitOutShortageAsync(token))
            {
                return;
            }
        }
    }

    /// <summary>Waits a backoff at a time until the descriptors' headroom is back; false if accepting stops meanwhile.</summary>
    private async Task<bool> WaitOutShortageAsync(CancellationToken token)
    {
        try
        {
            do
            {
                await Task.Delay(AcceptShortage.Backoff, token);
            }
            while (!_acceptShortage.HasHeadroom());

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// TCP_NODELAY on each TCP listener, which Linux copies to every socket accepted from it: one setsockopt(2)
    /// per listener instead of one per connection. False when a listener refused it (then set per connection).
    /// </summary>
    private bool SetNoDelayOnListeners()
    {
        var all = true;
        foreach (var listener in _listeners.Where(l => !l.IsUnix))
        {
            try
            {
                listener.Socket.NoDelay = true;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                all = false;
            }
        }

        return all;
    }

    /// <summary>
    /// Takes every connection already queued on a socket of this worker's own, then closes it, so the
    /// kernel sends new ones to the other workers' sockets. Those taken get their first request served,
    /// like any connection accepted before the stop. A connection that completes its handshake between
    /// the last accept and the close is still reset, unless the kernel migrates it
    /// (net.ipv4.tcp_migrate_req=1).
    /// </summary>
    private void DrainAndClose(ListenerInfo listener, ConnectionPipeline pipeline)
    {
        try
        {
            while (listener.Socket.Poll(0, SelectMode.SelectRead) && _connectionSlots.Wait(0))
            {
                var client = listener.Socket.Accept();

                Serve(client, listener, pipeline);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            // The master and a replacement may hold this slot too.
            LetGoOf(listener.Socket);
            listener.Socket.Dispose();
        }
    }

    /// <summary>
    /// Runs a connection on the accepting thread up to its first wait for bytes. Counted rather than kept
    /// in a set: a connection per request would otherwise pay a lock, a set entry and a continuation.
    /// </summary>
    private void Serve(Socket client, ListenerInfo listener, ConnectionPipeline pipeline)
    {
        // A socket accepted from a non-blocking listener (the sync worker's) inherits the mode; the response
        // sink's writes must wait for a slow client.
        if (!client.Blocking)
        {
            client.Blocking = true;
        }

        if (!_noDelayInherited && !listener.IsUnix)
        {
            client.NoDelay = true;
        }

        Interlocked.Increment(ref _open);
        _ = ServeAsync(client, listener, pipeline);
    }

    private async Task ServeAsync(Socket client, ListenerInfo listener, ConnectionPipeline pipeline)
    {
        try
        {
            await pipeline.RunAsync(client, listener, _stopNow.Token);
        }
        finally
        {
            _connectionSlots.Release();
            if (Interlocked.Decrement(ref _open) == 0)
            {
                _drained.TrySetResult();
            }
        }
    }

    /// <summary>Calls <paramref name="starting"/> as the next request starts and <paramref name="done"/> once it is answered, once each.</summary>
    internal void TraceFirstRequest(Action starting, Action done)
    {
        _firstRequestDone = done;
        _firstRequestStarting = starting;
    }

    private void OnRequestStarting()
    {
        if (_firstRequestStarting is not null)
        {
            Interlocked.Exchange(ref _firstRequestStarting, null)?.Invoke();
        }

        if (_maxRequests > 0 && Interlocked.Increment(ref _requestsStarted) >= _maxRequests && Interlocked.Exchange(ref _maxRequestsFired, 1) == 0)
        {
            _log.Info("Autorestarting worker after current request.");
            MaxRequestsReached?.Invoke();
        }
    }

    private void OnRequestDone(CompletedRequest request)
    {
        Interlocked.Increment(ref _requestCount);
        if (_firstRequestDone is not null)
        {
            Interlocked.Exchange(ref _firstRequestDone, null)?.Invoke();
        }

        RequestCompleted?.Invoke(request);
        if (AccessLog is { } log)
        {
            var sink = request.Response;
            // Gunicorn's access line reads the environ, so it shows what a pre_request hook rewrote.
            log(AccessLogEntry.FromRequest(request.Request.RewrittenAs ?? request.Request, sink.Status, sink.BodyBytesSent, sink.Headers, request.StartTime, request.Duration));
        }
    }

    // Gunicorn's handle_error with the parser's exc.req: one access line for the refused request, not counted as a
    // request served (max_requests, the request count); statsd and metrics see it through the access log, as there.
    private void OnRequestRefused(BadHttpRequestException rejection, System.Net.IPEndPoint? peer)
    {
        if (AccessLog is not { } log || rejection.Head is not { } head)
        {
            return;
        }

        // Gunicorn's req.headers are set once the whole section parsed: a repeated singleton field leaves them empty.
        KeyValuePair<string, string>[] fields = rejection.Reason == RequestRejectionReason.DuplicateSingletonHeader ? [] : [.. head.Headers];
        log(AccessLogEntry.FromRefusedRequest(head.Method, head.RawTarget, head.Path, head.Query, head.Protocol, fields, peer,
            $"{rejection.StatusCode} {rejection.ReasonPhrase}", DateTimeOffset.UtcNow));
    }

    private static long MaxRequestsWithJitter(Settings settings)
    {
        var max = settings.MaxRequests;
        if (max <= 0)
        {
            return 0;
        }

        var jitter = settings.MaxRequestsJitter;
        return max + (jitter > 0 ? Random.Shared.Next(0, jitter + 1) : 0);
    }

    private static bool IsTransient(SocketError error) =>
        error is SocketError.ConnectionAborted or SocketError.ConnectionReset or SocketError.TryAgain or SocketError.Interrupted;
}
