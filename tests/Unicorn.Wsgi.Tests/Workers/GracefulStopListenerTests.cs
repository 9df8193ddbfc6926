using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// What a graceful stop does with connections still queued on a listener: the socket of the worker's own
/// reuse_port slot is drained and its connections served, since no other worker accepts from it; a shared one
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

    [Fact]
    public async Task A_stopped_worker_process_lets_go_of_its_copy_of_a_shared_socket_and_leaves_the_others_listening()
    {
        // The master's copy and the worker's: two descriptors for one socket, as across the fork.
        using var master = WorkerHarness.Listen();
        var copy = Interop.Libc.socket(Interop.Libc.AF_UNIX, Interop.Libc.SOCK_STREAM | Interop.Libc.SOCK_CLOEXEC, 0);
        Assert.True(copy >= 0 && Interop.Libc.dup2((int)master.Handle, copy) == copy);
        using var workers = new Socket(new SafeSocketHandle(copy, ownsHandle: true));
        var worker = NewWorker(new ListenerInfo(workers));
        var run = worker.RunAsync();
        await Task.Delay(200);

        worker.BeginGracefulStop();
        worker.ReleaseSharedListeners();
        await run.WaitAsync(TimeSpan.FromSeconds(10));

        // Still listening for the master (a HUP: the other workers go on accepting from it).
        var clients = await QueueRequestsAsync(master, 1);
        using (var accepted = await master.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(5)))
        {
            Assert.NotNull(accepted);
        }

        clients[0].Dispose();

        // And once the master lets go of its copy too (a stop), nothing holds the socket: refused at once.
        var port = ((IPEndPoint)master.LocalEndPoint!).Port;
        master.Dispose();
        using var late = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = Assert.Throws<SocketException>(() => late.Connect(IPAddress.Loopback, port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
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
