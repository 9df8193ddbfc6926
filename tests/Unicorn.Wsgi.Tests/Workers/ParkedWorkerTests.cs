using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// worker_spares: a worker started parked (<see cref="Worker.StartParked"/>) has its host threads and accept
/// loops running but takes no connection until <see cref="Worker.Open"/>; sync (its Python thread accepts
/// when idle) and gthread (the async accept loops) are gated differently, so both are tried.
/// </summary>
public class ParkedWorkerTests
{
    [Theory]
    [InlineData("sync", 1)]
    [InlineData("gthread", 4)]
    public async Task A_parked_worker_accepts_nothing_until_opened(string workerClass, int threads)
    {
        using var socket = WorkerHarness.Listen();
        var worker = NewWorker(socket, workerClass, threads);
        var run = worker.StartParked();

        using var client = await SendAsync(socket);
        await Task.Delay(750);
        Assert.Equal(0, client.Available);
        Assert.False(run.IsCompleted);

        worker.Open();
        var response = await WorkerHarness.ReadUntilClosedAsync(client, TimeSpan.FromSeconds(20));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);

        worker.Open(); // a second promotion signal changes nothing
        worker.BeginGracefulStop();
        await run.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Theory]
    [InlineData("sync", 1)]
    [InlineData("gthread", 4)]
    public async Task A_worker_stopped_while_parked_ends_and_leaves_its_queue_to_others(string workerClass, int threads)
    {
        using var socket = WorkerHarness.Listen();
        var worker = NewWorker(socket, workerClass, threads);
        var run = worker.StartParked();
        using var client = await SendAsync(socket);
        await Task.Delay(250);

        worker.BeginGracefulStop();
        await run.WaitAsync(TimeSpan.FromSeconds(20));

        // Nothing was taken from the shared listener: the waiting connection is still there for another worker.
        using var accepted = await socket.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(accepted);
        Assert.Equal(0, client.Available);
    }

    private static Worker NewWorker(Socket socket, string workerClass, int threads)
    {
        var settings = TestSettings.Defaults();
        settings.Set("worker_class", workerClass);
        settings.Set("threads", threads);
        return new Worker(settings, [new ListenerInfo(socket)], new FakeApp(FakeApp.Ok), new StderrErrorLog(LogLevel.Debug, TextWriter.Null));
    }

    private static async Task<Socket> SendAsync(Socket listener)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        await client.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        return client;
    }
}
