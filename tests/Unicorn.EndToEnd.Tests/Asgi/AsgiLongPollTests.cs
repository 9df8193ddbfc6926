using System.Net.Sockets;
using System.Text;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Asgi;

/// <summary>
/// A request that waits with nothing written (a long poll on Starlette's <c>is_disconnected()</c>, or any app awaiting
/// <c>receive()</c> after its body) hears that its client left, as under uvicorn; it heard of it only once it wrote.
/// </summary>
public sealed class AsgiLongPollTests : IDisposable
{
    private readonly int _port = UnicornServer.FreePort();
    private readonly UnicornServer _server;

    public AsgiLongPollTests()
    {
        _server = UnicornServer.Start("long_poll:app", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-w", "1", "-b", $"127.0.0.1:{_port}");
        _server.WaitUntilResponding(_port, "/gone");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_long_poll_that_has_written_nothing_ends_when_its_client_leaves(bool reset)
    {
        using (var client = new TcpClient("127.0.0.1", _port))
        {
            client.GetStream().Write(Encoding.ASCII.GetBytes("GET /poll HTTP/1.1\r\nHost: x\r\n\r\n"));
            Thread.Sleep(300);
            if (reset)
            {
                client.Client.LingerState = new LingerOption(true, 0);
            }
        }

        // The poll gives up after 30 s on its own; the client's leaving must end it well before.
        Assert.True(UnicornServer.Poll(() => UnicornServer.Get(_port, "/gone").Body == "1", 10), "the poll did not hear its client leave\n" + _server.Log);
    }

    [Fact]
    public void Asking_whether_the_client_left_does_not_disturb_the_connections_next_requests()
    {
        // Keep-alive and pipelining: the watch the first request started must not take the bytes of the next one.
        using var client = new TcpClient("127.0.0.1", _port);
        var stream = client.GetStream();
        stream.Write(Encoding.ASCII.GetBytes("GET /once HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.Contains("connected", ReadResponse(stream), StringComparison.Ordinal);
        stream.Write(Encoding.ASCII.GetBytes("GET /once HTTP/1.1\r\nHost: x\r\n\r\nGET /once HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.Contains("connected", ReadResponse(stream), StringComparison.Ordinal);
        Assert.Contains("connected", ReadResponse(stream), StringComparison.Ordinal);
        stream.Write(Encoding.ASCII.GetBytes("GET /gone HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        Assert.EndsWith("\r\n\r\n0", ReadResponse(stream), StringComparison.Ordinal);
    }

    // One response of a keep-alive connection, whose body is short and has a Content-Length.
    private static string ReadResponse(NetworkStream stream)
    {
        stream.ReadTimeout = 10_000;
        var text = new StringBuilder();
        var one = new byte[1];
        while (!text.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            Assert.Equal(1, stream.Read(one));
            text.Append((char)one[0]);
        }

        var length = text.ToString().Split("\r\n").First(l => l.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase)).Split(':')[1].Trim();
        var body = new byte[int.Parse(length, System.Globalization.CultureInfo.InvariantCulture)];
        stream.ReadExactly(body);
        return text + Encoding.ASCII.GetString(body);
    }

    public void Dispose() => _server.Dispose();
}
