using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Unicorn.Wsgi.Logging;
using UnicornConnection = Unicorn.Wsgi.Connections.ConnectionContext;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// One of Unicorn's connections (after its PROXY and TLS stages) as Kestrel's transport abstraction sees it:
/// Kestrel reads and writes the same bytes the HTTP/1 handler would, and never owns the socket. The Unicorn
/// connection rides along as a connection feature, so each request finds its listener, peer and TLS environ.
/// </summary>
internal sealed class Http2TransportConnection : Microsoft.AspNetCore.Connections.ConnectionContext
{
    private readonly UnicornConnection _connection;
    private readonly IErrorLog _log;
    private readonly CancellationTokenSource _closed = new();
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    // Streams in the app, plus one until the handler has handed the connection over (its first StreamEnded).
    private int _streams = 1;
    private bool _finished;

    public Http2TransportConnection(UnicornConnection connection, string id, IErrorLog log, Http2MemoryPool? memory = null)
    {
        _connection = connection;
        _log = log;
        ConnectionId = id;
        var input = new Http2FloodGuard(connection.Input, OnFlood);
        // Kestrel's first SETTINGS goes out without ENABLE_CONNECT_PROTOCOL, so browsers keep websockets on HTTP/1.1.
        var output = new Http2SettingsFilter(PipeWriter.Create(connection.Transport, new StreamPipeWriterOptions(minimumBufferSize: 65536, leaveOpen: true)));
        Transport = new Http2DuplexPipe(input, output);
        Features.Set(connection);
        Features.Set(this);
        if (memory is not null)
        {
            Features.Set<IMemoryPoolFeature>(memory);
        }
    }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features { get; } = new FeatureCollection();

    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed
    {
        get => _closed.Token;
        set => throw new NotSupportedException();
    }

    public override EndPoint? LocalEndPoint
    {
        get => _connection.LocalEndPoint;
        set => throw new NotSupportedException();
    }

    public override EndPoint? RemoteEndPoint
    {
        get => _connection.RemoteEndPoint;
        set => throw new NotSupportedException();
    }

    /// <summary>
    /// Completes with true when Kestrel is done with the connection, or with false when Kestrel aborted it and then,
    /// with none of its streams left in the app, still held it after <paramref name="grace"/>. Kestrel's HTTP/2
    /// connection may wait forever after an abort for streams it counts as running though none is
    /// (dotnet/aspnetcore#51307; about one rapid-reset flood in twenty gets it so): the socket is closed by then, and
    /// waiting on would keep the connection's slot, and a graceful stop, for good.
    /// </summary>
    public async Task<bool> ReleasedAsync(TimeSpan grace)
    {
        if (await Task.WhenAny(_disposed.Task, _aborted.Task) == _disposed.Task)
        {
            return true;
        }

        while (await Task.WhenAny(_disposed.Task, Task.Delay(grace)) != _disposed.Task)
        {
            lock (_gate)
            {
                if (_streams == 0)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>A stream of this connection reached the app: the connection is busy.</summary>
    public void StreamStarted()
    {
        lock (_gate)
        {
            if (_streams++ == 0 && !_finished)
            {
                _connection.MarkIdle(false);
            }
        }
    }

    /// <summary>A stream is done: with none left the connection is idle, and the worker may evict it for its slot.</summary>
    public void StreamEnded()
    {
        lock (_gate)
        {
            if (--_streams == 0 && !_finished)
            {
                _connection.MarkIdle(true);
            }
        }
    }

    /// <summary>Kestrel is done with the connection: it leaves the idle set for good.</summary>
    public void Finish()
    {
        lock (_gate)
        {
            _finished = true;
            _connection.MarkIdle(false);
        }
    }

    /// <summary>Asks Kestrel to end the connection gracefully (GOAWAY, then close once its streams finish).</summary>
    public void RequestClose() => Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();

    // Kestrel sees the input end; the socket closes too, so answers queued for a client that stopped reading go nowhere.
    private void OnFlood(string kind)
    {
        _log.Info($"HTTP/2: Connection id \"{ConnectionId}\": {kind} flood (over {Http2FloodGuard.Limit} frames in a second without a request); connection closed");
        Abort(new ConnectionAbortedException(kind + " flood"));
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        // Kestrel gave up on the connection (a protocol error after GOAWAY, a timeout): unblock its reads.
        try
        {
            _connection.Socket?.Dispose();
        }
        finally
        {
            CancelClosed();
            _aborted.TrySetResult();
        }
    }

    public override ValueTask DisposeAsync()
    {
        CancelClosed();
        _disposed.TrySetResult();
        return default;
    }

    private void CancelClosed()
    {
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
