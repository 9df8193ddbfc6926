using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Http;

/// <summary>
/// When every <c>worker_connections</c> slot is taken, only a connection that has waited for a request a while
/// gives way: one whose request is still arriving (nginx connects, then sends) is never closed unanswered.
/// </summary>
public sealed class ConnectionSlotTests
{
    [Theory]
    [InlineData("sync")]
    [InlineData("gthread")]
    [InlineData("gevent")]
    public void A_burst_of_clients_sending_just_after_connecting_is_answered_in_full_at_the_cap(string workerClass)
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.hello:app", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", workerClass, "--threads", "2", "--worker-connections", "3");
        server.WaitUntilServing(port);

        // Forty clients at once, each sending its request 50 ms after its connection was accepted: at the cap the
        // others are not idle but arriving, so the rest wait in the listen queue rather than shedding them. Each
        // client is its own thread with blocking calls: a busy test host's thread pool could delay a send past
        // the 250 ms after which a silent connection may be shed.
        var results = new string[40];
        var clients = Enumerable.Range(0, results.Length).Select(i => new Thread(() => results[i] = SendAfter(port, TimeSpan.FromMilliseconds(50)))).ToList();
        clients.ForEach(t => t.Start());
        clients.ForEach(t => t.Join());

        Assert.All(results, r => Assert.StartsWith("HTTP/1.1 200 OK", r, StringComparison.Ordinal));
    }

    private static string SendAfter(int port, TimeSpan delay)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 60_000 };
        try
        {
            socket.Connect(IPAddress.Loopback, port);
            Thread.Sleep(delay);
            socket.Send(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
            var response = new StringBuilder();
            var buffer = new byte[4096];
            int n;
            while ((n = socket.Receive(buffer)) > 0)
            {
                response.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }

            return response.ToString();
        }
        catch (SocketException e)
        {
            return $"socket error {e.SocketErrorCode}";
        }
    }
}
