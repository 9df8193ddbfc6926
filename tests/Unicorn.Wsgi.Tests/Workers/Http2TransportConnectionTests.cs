using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.ProcessContract;
using Unicorn.Wsgi.Workers;
using ConnectionContext = Unicorn.Wsgi.Connections.ConnectionContext;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// When the HTTP/2 handler lets a connection go: once Kestrel disposes it, or, once Kestrel aborted it, when no stream
/// of it is left in the app for a grace period (Kestrel may never dispose a connection it aborted: the slot and a
/// graceful stop would wait forever).
/// </summary>
public sealed class Http2TransportConnectionTests : IDisposable
{
    private static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(200);
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public Http2TransportConnectionTests() => _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));

    public void Dispose() => _listener.Dispose();

    private Http2TransportConnection Connection()
    {
        var connection = new ConnectionContext(new MemoryStream(), new ListenerInfo(_listener), null, false, new IdleConnections());
        var transport = new Http2TransportConnection(connection, "1 from ip=127.0.0.1", new StderrErrorLog(LogLevel.Critical, TextWriter.Null));
        transport.StreamEnded(); // handed over, as the handler does
        return transport;
    }

    [Fact]
    public async Task Disposed_by_kestrel_it_is_released()
    {
        var transport = Connection();
        var released = transport.ReleasedAsync(Grace);
        Assert.False(released.IsCompleted);
        await transport.DisposeAsync();
        Assert.True(await released.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Aborted_and_then_disposed_within_the_grace_it_is_released_not_abandoned()
    {
        var transport = Connection();
        var released = transport.ReleasedAsync(TimeSpan.FromSeconds(5));
        transport.Abort(new ConnectionAbortedException("test"));
        await Task.Delay(50);
        Assert.False(released.IsCompleted);
        await transport.DisposeAsync();
        Assert.True(await released.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Aborted_and_held_with_no_stream_running_it_is_abandoned_after_the_grace()
    {
        var transport = Connection();
        var started = DateTime.UtcNow;
        var released = transport.ReleasedAsync(Grace);
        transport.Abort(new ConnectionAbortedException("test"));
        Assert.False(await released.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(DateTime.UtcNow - started >= Grace);
        Assert.True(transport.ConnectionClosed.IsCancellationRequested);
    }

    [Fact]
    public async Task A_stream_still_in_the_app_keeps_an_aborted_connection_until_it_ends()
    {
        var transport = Connection();
        transport.StreamStarted();
        var released = transport.ReleasedAsync(Grace);
        transport.Abort(new ConnectionAbortedException("test"));
        await Task.Delay(Grace * 3);
        Assert.False(released.IsCompleted);
        transport.StreamEnded();
        Assert.False(await released.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task The_worker_asks_to_be_replaced_once_kestrel_has_kept_the_limit_of_connections()
    {
        var settings = new Settings();
        settings.Set("http_protocols", "h2,h1");
        var log = new ListLog();
        var retired = new List<RetireCause>();
        var context = new WorkerContext(WorkerOptions.FromSettings(settings), new OneLoopHost(new FakeApp((_, _) => throw new InvalidOperationException("no request expected")), 1), log, CancellationToken.None, () => { }, _ => { }, retired.Add);
        await using var handler = new Http2ConnectionHandler(context, settings);
        for (var i = 1; i < Http2ConnectionHandler.AbandonedLimit; i++)
        {
            handler.Abandoned(Connection());
        }

        Assert.Empty(retired);
        handler.Abandoned(Connection());
        handler.Abandoned(Connection());
        Assert.Equal([RetireCause.Http2Abandoned], retired);
        Assert.Equal(Http2ConnectionHandler.AbandonedLimit + 1, log.Lines.Count(l => l.Contains("still held by Kestrel", StringComparison.Ordinal)));
        Assert.Single(log.Lines, l => l.StartsWith("Autorestarting worker: Kestrel kept 32 aborted HTTP/2 connections", StringComparison.Ordinal));
    }

    private sealed class ListLog : IErrorLog
    {
        public List<string> Lines { get; } = [];

        public bool IsEnabled(LogLevel level) => true;

        public void Log(LogLevel level, string message)
        {
            lock (Lines)
            {
                Lines.Add(message);
            }
        }
    }
}
