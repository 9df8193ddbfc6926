using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Unicorn.Wsgi.Connections;

/// <summary>
/// One accepted connection as the pipeline's stages hand it on: PROXY fills <see cref="Proxy"/>, TLS swaps
/// <see cref="Transport"/> and fills <see cref="TlsEnviron"/> and <see cref="ApplicationProtocol"/>, then a
/// protocol handler reads <see cref="Input"/> and writes <see cref="Transport"/>. One object per connection,
/// nothing per request; the pipeline disposes it when the handler is done.
/// </summary>
internal sealed class ConnectionContext : IAsyncDisposable
{
    private readonly IdleConnections _idle;
    private readonly CancellationTokenSource _evicted = new();
    private PipeReader? _input;
    private CancellationTokenSource? _readTimeout;

    public ConnectionContext(Stream transport, ListenerInfo listener, IPEndPoint? remote, bool forwardedTrusted, IdleConnections idle, Socket? socket = null)
    {
        Transport = transport;
        Listener = listener;
        RemoteEndPoint = remote;
        ForwardedTrusted = forwardedTrusted;
        Socket = socket;
        _idle = idle;
    }

    /// <summary>The connection's socket, when there is one (a lingering close needs it); closed on dispose.</summary>
    public Socket? Socket { get; }

    /// <summary>The bytes of the connection: the socket's stream, or the TLS stream after the handshake.</summary>
    public Stream Transport { get; private set; }

    public ListenerInfo Listener { get; }

    /// <summary>The socket's peer; null for a unix socket.</summary>
    public IPEndPoint? RemoteEndPoint { get; }

    public EndPoint? LocalEndPoint => Socket?.LocalEndPoint;

    /// <summary>
    /// Whether the peer may set the scheme and forwarded headers (<c>forwarded_allow_ips</c>), decided once per
    /// connection on the socket's peer (a unix peer is trusted, as in Gunicorn).
    /// </summary>
    public bool ForwardedTrusted { get; }

    /// <summary>What the PROXY protocol header said, when the connection began with one.</summary>
    public ProxyInfo? Proxy { get; set; }

    /// <summary>Environ keys every request on this connection carries (the TLS client certificate).</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? TlsEnviron { get; private set; }

    /// <summary>The ALPN protocol the TLS handshake agreed on ("http/1.1"); null without TLS or ALPN.</summary>
    public string? ApplicationProtocol { get; private set; }

    // When the frame being read (a PROXY header, a request head) must be complete (Environment.TickCount64);
    // 0 while waiting for a frame's first byte.
    private long _frameDeadline;

    /// <summary>The bytes of <see cref="Transport"/>, read once into a pipe that stages and handler share.</summary>
    public PipeReader Input => _input ??= PipeReader.Create(Transport, new StreamPipeReaderOptions(bufferSize: 8192, minimumReadSize: 2048, leaveOpen: true));

    public string RemoteText => RemoteEndPoint?.Address.ToString() ?? "unix";

    /// <summary>Closes this connection if it is waiting for a request (the worker needs the slot).</summary>
    public void Evict() => _evicted.Cancel();

    /// <summary>Cancelled when the worker closes this connection for its slot (see <see cref="MarkIdle"/>).</summary>
    public CancellationToken Evicted => _evicted.Token;

    /// <summary>
    /// Counts the connection as idle, or no longer, for a handler that reads on its own rather than through
    /// <see cref="ReadAsync"/> (HTTP/2 between streams): an idle one may be evicted when the worker is full.
    /// </summary>
    public void MarkIdle(bool idle)
    {
        if (idle)
        {
            _idle.Enter(this);
        }
        else
        {
            _idle.Leave(this);
        }
    }

    /// <summary>
    /// Reads more bytes of a frame (a PROXY header, a request head). The wait for its first byte is idle:
    /// bounded by <paramref name="idleTimeout"/>, and the worker may evict the connection for its slot. From
    /// that byte on the whole frame must arrive within <paramref name="frameTimeout"/>, so a client trickling
    /// bytes cannot hold the connection. Null: timed out or evicted.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ReadResult?> ReadFrameAsync(TimeSpan idleTimeout, TimeSpan frameTimeout)
    {
        if (_frameDeadline != 0)
        {
            var left = _frameDeadline - Environment.TickCount64;
            return left > 0 ? await ReadAsync(TimeSpan.FromMilliseconds(left)) : null;
        }

        var result = await ReadAsync(idleTimeout, evictable: true);
        if (result is { } read && !(read.Buffer.IsEmpty && read.IsCompleted))
        {
            _frameDeadline = Environment.TickCount64 + (long)frameTimeout.TotalMilliseconds;
        }

        return result;
    }

    /// <summary>
    /// The frame is complete; the next read waits for a new one. The PROXY stage does not call it: the
    /// header and the first request head share one <c>timeout</c>, as when they were read together.
    /// </summary>
    public void EndFrame() => _frameDeadline = 0;

    /// <summary>A frame's first byte has arrived and its time is running.</summary>
    internal bool InFrame => _frameDeadline != 0;

    /// <summary>
    /// Reads more bytes; null on timeout, or (<paramref name="evictable"/>: the connection is idle meanwhile)
    /// when the worker needs the slot. A read the socket completes at once (the bytes were there, as a new
    /// connection's request usually is) arms no timer and never counts as idle.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ReadResult?> ReadAsync(TimeSpan timeout, bool evictable = false)
    {
        var input = Input;
        if (input.TryRead(out var ready))
        {
            return ready;
        }

        // One timer source per connection, reset after each read rather than made (with a timer) per read:
        // a keep-alive connection reads once per request. Eviction reaches it through a registration.
        var cts = _readTimeout ??= new CancellationTokenSource();
        var idle = false;
        var evict = default(CancellationTokenRegistration);
        try
        {
            var pending = input.ReadAsync(cts.Token);
            if (pending.IsCompleted)
            {
                return pending.Result;
            }

            cts.CancelAfter(timeout);
            if (evictable)
            {
                idle = true;
                _idle.Enter(this);
                evict = _evicted.Token.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), cts);
            }

            return await pending;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        finally
        {
            if (idle)
            {
                _idle.Leave(this);
                evict.Dispose();
            }

            if (!cts.TryReset())
            {
                cts.Dispose();
                _readTimeout = null;
            }
        }
    }

    /// <summary>A stage (the PROXY header's) has read through <see cref="Input"/>: bytes past its own may wait there.</summary>
    public bool HasBufferedInput => _input is not null;

    /// <summary>
    /// The transport for a TLS handshake: the raw stream, preceded by whatever a stage already read into
    /// <see cref="Input"/> past its own bytes (the ClientHello that followed a PROXY header).
    /// </summary>
    public Stream TakeTransportForTls()
    {
        if (_input is not { } input)
        {
            return Transport;
        }

        _input = null;
        byte[] pending = [];
        if (input.TryRead(out var read))
        {
            pending = read.Buffer.ToArray();
            input.AdvanceTo(read.Buffer.End);
        }

        input.Complete();
        return pending.Length == 0 ? Transport : new PrefixedStream(pending, Transport);
    }

    /// <summary>
    /// Puts <paramref name="bytes"/> in front of what is left to read (h2c by Upgrade: the upgrade request as
    /// HTTP/2 frames); <see cref="Input"/> then reads them first, then the connection as before.
    /// </summary>
    public void PrependInput(byte[] bytes)
    {
        Transport = new PrefixedStream(bytes, TakeTransportForTls());
        EndFrame();
    }

    /// <summary>The handshake is done: requests now travel over <paramref name="stream"/>.</summary>
    public void UseTls(Stream stream, IReadOnlyList<KeyValuePair<string, string>>? environ, string? applicationProtocol)
    {
        Transport = stream;
        TlsEnviron = environ;
        ApplicationProtocol = applicationProtocol;
        // The head's time starts after the handshake, which has its own bound.
        EndFrame();
    }

    public async ValueTask DisposeAsync()
    {
        if (_input is { } input)
        {
            await input.CompleteAsync();
        }

        await Transport.DisposeAsync();
        Socket?.Dispose();
        _evicted.Dispose();
        _readTimeout?.Dispose();
    }
}
