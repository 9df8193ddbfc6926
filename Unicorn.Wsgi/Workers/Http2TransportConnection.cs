using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
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
    private readonly CancellationTokenSource _closed = new();
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Http2TransportConnection(UnicornConnection connection, string id)
    {
        _connection = connection;
        ConnectionId = id;
        Transport = new Http2DuplexPipe(connection.Input, PipeWriter.Create(connection.Transport, new StreamPipeWriterOptions(minimumBufferSize: 65536, leaveOpen: true)));
        Features.Set(connection);
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

    /// <summary>Completes when Kestrel is done with the connection (it disposes it).</summary>
    public Task Finished => _disposed.Task;

    /// <summary>Asks Kestrel to end the connection gracefully (GOAWAY, then close once its streams finish).</summary>
    public void RequestClose() => Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();

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
