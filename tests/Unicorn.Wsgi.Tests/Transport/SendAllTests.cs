using System.Net;
using System.Net.Sockets;
using Unicorn.Wsgi.Interop;

namespace Unicorn.Wsgi.Tests.Transport;

/// <summary>
/// The app thread's direct writes to a non-blocking socket: every byte arrives in order even when the
/// socket fills up again and again (a reader slower than the writer, a small send buffer).
/// </summary>
public class SendAllTests
{
    [Theory]
    [InlineData(0, 4 << 20)]
    [InlineData(148, 4 << 20)]
    [InlineData(148, 0)]
    [InlineData(70_000, 1)]
    public void A_gather_write_delivers_head_then_body_through_a_full_socket(int headLength, int bodyLength)
    {
        var head = Pattern(headLength, seed: 7);
        var body = Pattern(bodyLength, seed: 91);
        var received = Transfer(server => Sys.SendAll(server.SafeHandle, head, body), headLength + bodyLength);
        Assert.Equal([.. head, .. body], received);
    }

    [Theory]
    [InlineData(20, 16 << 10, 2)]
    [InlineData(0, 4 << 20, 2)]
    [InlineData(7, 0, 2)]
    [InlineData(0, 0, 2)]
    public void A_three_part_gather_write_delivers_head_body_and_tail_in_order(int headLength, int bodyLength, int tailLength)
    {
        var head = Pattern(headLength, seed: 5);
        var body = Pattern(bodyLength, seed: 13);
        var tail = Pattern(tailLength, seed: 29);
        var received = Transfer(server => Sys.SendAll(server.SafeHandle, head, body, tail), headLength + bodyLength + tailLength);
        Assert.Equal([.. head, .. body, .. tail], received);
    }

    [Fact]
    public void A_plain_write_delivers_everything_through_a_full_socket()
    {
        var data = Pattern(3 << 20, seed: 3);
        Assert.Equal(data, Transfer(server => Sys.SendAll(server.SafeHandle, data), data.Length));
    }

    [Fact]
    public void A_gather_write_to_a_closed_peer_fails_with_an_IOException()
    {
        var (server, client) = ConnectedPair();
        using (server)
        {
            client.LingerState = new LingerOption(true, 0); // close with RST
            client.Dispose();
            Thread.Sleep(50);
            Assert.Throws<IOException>(() =>
            {
                // The first write may still be accepted by the kernel; the reset surfaces on a later one.
                for (var i = 0; i < 100; i++)
                {
                    Sys.SendAll(server.SafeHandle, new byte[100], new byte[64 * 1024]);
                }
            });
        }
    }

    [Fact]
    public void A_write_to_a_connection_the_worker_closed_fails_with_an_IOException()
    {
        // A quick stop (INT/QUIT) closes every connection while apps still run: their next write must be a client
        // gone (IOException), not an ObjectDisposedException logged as "Error handling request".
        var (server, client) = ConnectedPair();
        using (client)
        {
            server.Dispose();
            Assert.Throws<IOException>(() => Unicorn.Wsgi.Transport.SocketSend.SendNow(server, new byte[10]));
            Assert.Throws<IOException>(() => Unicorn.Wsgi.Transport.SocketSend.SendAll(server, new byte[10]));
            Assert.Throws<IOException>(() => Unicorn.Wsgi.Transport.SocketSend.SendAll(server, new byte[10], new byte[10], new byte[2]));
        }
    }

    private static byte[] Transfer(Action<Socket> send, int expected)
    {
        var (server, client) = ConnectedPair();
        using (server)
        using (client)
        {
            var writer = Task.Run(() => send(server));
            var received = new byte[expected];
            var offset = 0;
            var chunk = new byte[7_000];
            while (offset < expected)
            {
                // A slow reader: the writer meets EAGAIN many times over.
                var n = client.Receive(chunk, 0, Math.Min(chunk.Length, expected - offset), SocketFlags.None);
                Assert.NotEqual(0, n);
                Array.Copy(chunk, 0, received, offset, n);
                offset += n;
            }

            Assert.True(writer.Wait(TimeSpan.FromSeconds(30)), "the writer did not finish");
            return received;
        }
    }

    private static (Socket Server, Socket Client) ConnectedPair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 8 * 1024 };
        client.Connect(listener.LocalEndPoint!);
        var server = listener.Accept();
        server.SendBufferSize = 8 * 1024;
        server.Blocking = false; // as a worker's accepted sockets are: .NET's async I/O keeps them non-blocking
        return (server, client);
    }

    private static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }
}
