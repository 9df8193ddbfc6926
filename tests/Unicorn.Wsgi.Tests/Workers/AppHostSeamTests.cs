using System.Net;
using System.Net.Sockets;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>The worker reaches the app only through its <see cref="Wsgi.Workers.Hosts.IAppHost"/>, which need not own a thread per request.</summary>
public sealed class AppHostSeamTests
{
    [Fact]
    public async Task A_host_running_every_request_on_one_thread_serves_the_worker()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(16);
        var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        var app = new FakeApp(FakeApp.Ok);
        var host = new OneLoopHost(app, capacity: 500);
        var worker = new Worker(TestSettings.Defaults(), [new ListenerInfo(socket)], host, new StderrErrorLog(LogLevel.Debug, TextWriter.Null));
        var run = worker.RunAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(IPAddress.Loopback, port);
            await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
            return await WorkerHarness.ReadUntilClosedAsync(client, TimeSpan.FromSeconds(5));
        }));

        Assert.All(responses, r => Assert.StartsWith("HTTP/1.1 200 OK\r\n", r, StringComparison.Ordinal));
        Assert.Equal(4, host.RequestThreads.Count);
        Assert.All(host.RequestThreads, id => Assert.Equal(host.LoopThreadId, id));
        Assert.Equal(1, app.AttachedThreads);
        // The metrics gauges show the host's own numbers, not a thread count the worker assumed.
        Assert.Equal(500, worker.ThreadCount);
        Assert.Equal(0, worker.BusyThreads);

        worker.BeginGracefulStop();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, host.StartCalls);
        Assert.Equal(1, host.StopCalls);
    }
}
