using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Http;

/// <summary>
/// An app that answers a large upload without reading it: the server closes the connection, and closing a
/// socket with unread received bytes sends RST, which can destroy the response before the client reads it.
/// The server must linger (stop sending, read and drop the rest for a bounded time) so every client gets its
/// answer. The client here sends its whole body before reading, as most HTTP clients do, and a failed send
/// counts as a lost response (curl and requests give up there). Before the lingering close every send failed.
/// </summary>
public sealed class UnreadUploadTests
{
    private const int Uploads = 15;
    private const int UploadBytes = 30 << 20;

    [Theory]
    [InlineData("sync")]
    [InlineData("gthread")]
    public async Task Every_client_reads_its_response_to_an_upload_the_app_never_read(string workerClass)
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.hello:app", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", workerClass, "--threads", workerClass == "sync" ? "1" : "2");
        server.WaitUntilServing(port);

        var lost = new List<string>();
        for (var i = 0; i < Uploads; i++)
        {
            var (response, how) = await UploadAsync(port);
            // A reset while sending is a lost response for curl or requests, which stop at the failed send.
            if (how != "sent all" || !response.StartsWith("HTTP/1.1 200 OK", StringComparison.Ordinal) || !response.EndsWith("Hello, World!\n", StringComparison.Ordinal))
            {
                lost.Add($"upload {i}: {how}, got {response.Length} bytes: {response}");
            }
        }

        Assert.True(lost.Count == 0, string.Join('\n', lost) + "\n" + server.Log);
        server.Signal(UnicornServer.SIGTERM);
        server.WaitForExit(30);
    }

    private static async Task<(string Response, string How)> UploadAsync(int port)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(IPAddress.Loopback, port);
        var how = "sent all";
        await s.SendAsync(Encoding.ASCII.GetBytes($"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {UploadBytes}\r\n\r\n"));
        var chunk = new byte[1 << 20];
        try
        {
            for (var sent = 0; sent < UploadBytes; sent += chunk.Length)
            {
                await s.SendAsync(chunk);
            }
        }
        catch (SocketException e)
        {
            how = $"send failed ({e.SocketErrorCode})";
        }

        var received = new MemoryStream();
        var buffer = new byte[65536];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            while (true)
            {
                var n = await s.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    break;
                }

                received.Write(buffer, 0, n);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            how += $", receive failed ({e.GetType().Name}: {e.Message})";
        }

        return (Encoding.Latin1.GetString(received.ToArray()), how);
    }
}
