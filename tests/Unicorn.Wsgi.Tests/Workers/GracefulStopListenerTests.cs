using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// What a graceful stop does with connections still queued on a listener: a socket of the worker's own
/// (reuse_port) is drained and its connections served, since nobody else can accept them; a shared one
/// is left to the other workers.
/// </summary>
public class GracefulStopListenerTests
{
    [Fact]
    public async Task Connections_queued_on_the_workers_own_socket_are_served_before_it_closes()
    {
        using var socket = WorkerHarness.Listen();
        var clients = await QueueRequestsAsync(socket, 3);
        var worker = NewWorker(new ListenerInfo(socket) { OwnedByWorker = true });

        worker.BeginGracefulStop();
        await worker.RunAsync().WaitAsync(TimeSpan.FromSeconds(10));

        foreach (var client in clients)
        {
            using (client)
            {
                var response = await WorkerHarness.ReadUntilClosedAsync(client, TimeSpan.FromSeconds(5));
                Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
                Assert.Contains("\r\nConnection: close\r\n", response, StringComparison.Ordinal);
                Assert.EndsWith("\r\n\r\nok", response, StringComparison.Ordinal);
            }
        }

        // Closed: the kernel sends later connections to the other workers' sockets.
        Assert.ThrowsAny<ObjectDisposedException>(() => socket.Poll(0, SelectMode.SelectRead));
    }

    [Fact]
    public async Task Connections_queued_on_a_shared_socket_are_left_to_the_other_workers()
    {
        using var socket = WorkerHarness.Listen();
        var clients = await QueueRequestsAsync(socket, 2);
        var worker = NewWorker(new ListenerInfo(socket));

        worker.BeginGracefulStop();
        await worker.RunAsync().WaitAsync(TimeSpan.FromSeconds(10));

        // Still queued and still open: another worker (here, this test) accepts them.
        for (var i = 0; i < clients.Count; i++)
        {
            using var accepted = await socket.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.NotNull(accepted);
        }

        foreach (var client in clients)
        {
            client.Dispose();
        }
    }

    /// <summary>Clients whose handshake is done and whose request is sent, none accepted yet.</summary>
    private static async Task<List<Socket>> QueueRequestsAsync(Socket listener, int count)
    {
        var clients = new List<Socket>();
        for (var i = 0; i < count; i++)
        {
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(listener.LocalEndPoint!);
            await client.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
            clients.Add(client);
        }

        return clients;
    }

    private static Worker NewWorker(ListenerInfo listener) =>
        new(TestSettings.Defaults(), [listener], new FakeApp(FakeApp.Ok), new StderrErrorLog(LogLevel.Debug, TextWriter.Null));
}
