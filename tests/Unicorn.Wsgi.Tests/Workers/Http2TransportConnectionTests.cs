using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Logging;
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
        var started = System.Diagnostics.Stopwatch.StartNew();
        var released = transport.ReleasedAsync(Grace);
        transport.Abort(new ConnectionAbortedException("test"));
        Assert.False(await released.WaitAsync(TimeSpan.FromSeconds(10)));
        // The grace's timer, not at once (a timer may fire a little before its time, hence the margin).
        Assert.True(started.Elapsed >= Grace * 0.8, started.Elapsed.ToString());
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
    public void Kestrel_saying_it_collected_an_abandoned_connection_is_debug_and_its_other_critical_events_stay_critical()
    {
        var log = new ListLog();
        var kestrel = new Http2KestrelLog(log).CreateLogger("Microsoft.AspNetCore.Server.Kestrel");
        kestrel.Log(Microsoft.Extensions.Logging.LogLevel.Critical, new Microsoft.Extensions.Logging.EventId(23, "ApplicationNeverCompleted"), "x", null, (_, _) => "Connection id \"7\" application never completed.");
        kestrel.Log(Microsoft.Extensions.Logging.LogLevel.Critical, new Microsoft.Extensions.Logging.EventId(1, "Other"), "x", null, (_, _) => "something else");
        Assert.Equal([(LogLevel.Debug, "HTTP/2: Connection id \"7\" application never completed."), (LogLevel.Critical, "HTTP/2: something else")], log.Lines);
    }

    [Fact]
    public void A_header_block_kestrel_cannot_decode_is_one_info_line_naming_the_goaway_code()
    {
        // Kestrel logs it at debug under its own event, though the connection ends with GOAWAY as for its other
        // connection errors, which are info.
        var log = new ListLog();
        var kestrel = new Http2KestrelLog(log).CreateLogger("Microsoft.AspNetCore.Server.Kestrel");
        IReadOnlyList<KeyValuePair<string, object?>> state = [new("ConnectionId", "3 from ip=127.0.0.1"), new("StreamId", 1)];
        kestrel.Log(Microsoft.Extensions.Logging.LogLevel.Debug, new Microsoft.Extensions.Logging.EventId(39, "HPackDecodingError"), state,
            new InvalidOperationException("HPACK integer exceeds limits or has an overlong encoding."), (_, _) => "HPACK decoding error");
        Assert.Equal([(LogLevel.Info, "HTTP/2: Connection id \"3 from ip=127.0.0.1\": HTTP/2 connection error (COMPRESSION_ERROR): HPACK integer exceeds limits or has an overlong encoding.")], log.Lines);
    }

    private sealed class ListLog : IErrorLog
    {
        public List<(LogLevel Level, string Message)> Lines { get; } = [];

        public bool IsEnabled(LogLevel level) => true;

        public void Log(LogLevel level, string message)
        {
            lock (Lines)
            {
                Lines.Add((level, message));
            }
        }
    }
}
