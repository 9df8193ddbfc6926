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
    public async Task A_burst_of_clients_sending_just_after_connecting_is_answered_in_full_at_the_cap(string workerClass)
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.hello:app", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", workerClass, "--threads", "2", "--worker-connections", "3");
        server.WaitUntilServing(port);

        // Forty clients at once, each sending its request 50 ms after its connection was accepted: at the cap the
        // others are not idle but arriving, so the rest wait in the listen queue rather than shedding them.
        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Task.Run(() => SendAfterAsync(port, TimeSpan.FromMilliseconds(50)))));

        Assert.All(results, r => Assert.StartsWith("HTTP/1.1 200 OK", r, StringComparison.Ordinal));
    }

    private static async Task<string> SendAfterAsync(int port, TimeSpan delay)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        await Task.Delay(delay);
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
            var response = new StringBuilder();
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
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
