using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// A worker retiring at max_requests, as Gunicorn's: it stops taking requests as the last one starts,
/// closes that connection after the response, and leaves queued connections to others (shared socket)
/// or keeps them waiting on its own reuse_port socket until it is told to stop.
/// </summary>
public class RetireTests
{
    [Fact]
    public async Task The_last_request_closes_its_connection_and_the_worker_stops_accepting()
    {
        using var socket = WorkerHarness.Listen();
        var settings = TestSettings.Defaults();
        settings.Set("max_requests", 2);
        var worker = new Worker(settings, [new ListenerInfo(socket)], new FakeApp(FakeApp.Ok), new StderrErrorLog(LogLevel.Debug, TextWriter.Null));
        worker.MaxRequestsReached += worker.BeginRetire;
        var run = worker.RunAsync();

        using var client = await ConnectAsync(socket);
        await client.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        var responses = await WorkerHarness.ReadResponsesAsync(client, 2);
        Assert.Equal(2, responses.Count);
        Assert.DoesNotContain("Connection: close", responses[0], StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", responses[1], StringComparison.Ordinal);

        // Its in-flight work done, the worker is finished; a later connection waits for someone else.
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        using var later = await ConnectAsync(socket);
        await later.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        using var accepted = await socket.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.NotNull(accepted);
    }

    [Fact]
    public async Task A_retired_workers_own_socket_holds_its_queue_until_the_stop_then_serves_it()
    {
        using var socket = WorkerHarness.Listen();
        var settings = TestSettings.Defaults();
        settings.Set("max_requests", 1);
        var worker = new Worker(settings, [new ListenerInfo(socket) { OwnedByWorker = true }], new FakeApp(FakeApp.Ok), new StderrErrorLog(LogLevel.Debug, TextWriter.Null));
        worker.MaxRequestsReached += worker.BeginRetire;
        var run = worker.RunAsync();

        var first = await WorkerHarness.ReadUntilClosedAsync(await SendAsync(socket), TimeSpan.FromSeconds(5));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", first, StringComparison.Ordinal);

        // Retired: a new connection is neither served nor reset while the replacement boots.
        using var waiting = await SendAsync(socket);
        await Task.Delay(500);
        Assert.False(run.IsCompleted);
        Assert.Equal(0, waiting.Available);

        worker.BeginGracefulStop();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        var served = await WorkerHarness.ReadUntilClosedAsync(waiting, TimeSpan.FromSeconds(5));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", served, StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", served, StringComparison.Ordinal);
        Assert.ThrowsAny<ObjectDisposedException>(() => socket.Poll(0, SelectMode.SelectRead));
    }

    private static async Task<Socket> ConnectAsync(Socket listener)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        return client;
    }

    private static async Task<Socket> SendAsync(Socket listener)
    {
        var client = await ConnectAsync(listener);
        await client.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        return client;
    }
}
