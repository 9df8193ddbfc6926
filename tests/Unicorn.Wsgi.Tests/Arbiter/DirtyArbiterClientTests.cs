using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Unicorn.Wsgi.Arbiter;

namespace Unicorn.Wsgi.Tests.Arbiter;

/// <summary>The master's client for the dirty socket (the control socket's seam), against a scripted peer.</summary>
public sealed class DirtyArbiterClientTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("unicorn-dirty-client-");

    private string SocketPath => Path.Combine(_dir.FullName, "s.sock");

    /// <summary>A one-connection peer: reads one frame, records it, answers <paramref name="reply"/> (raw bytes).</summary>
    private Task<string> Peer(byte[] reply)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        listener.Listen(1);
        return Task.Run(() =>
        {
            using (listener)
            {
                using var conn = listener.Accept();
                var head = new byte[4];
                Read(conn, head);
                var body = new byte[BinaryPrimitives.ReadUInt32BigEndian(head)];
                Read(conn, body);
                conn.Send(reply);
                return Encoding.UTF8.GetString(body);
            }
        });
    }

    private static void Read(Socket socket, byte[] buffer)
    {
        for (var read = 0; read < buffer.Length;)
        {
            read += socket.Receive(buffer, read, buffer.Length - read, SocketFlags.None);
        }
    }

    private static byte[] Frame(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)body.Length);
        body.CopyTo(frame, 4);
        return frame;
    }

    [Fact]
    public async Task Sends_a_framed_request_and_returns_the_result()
    {
        var peer = Peer(Frame("""{"id": 1, "type": "response", "result": {"enabled": true, "pid": 42}}"""));
        var result = DirtyArbiterClient.Request(SocketPath, new JsonObject { ["type"] = "status", ["id"] = 1 }, TimeSpan.FromSeconds(30));
        Assert.Equal(42, (int)result!["pid"]!);
        Assert.Equal("status", (string?)JsonNode.Parse(await peer)!["type"]);
    }

    [Fact]
    public async Task An_error_reply_becomes_one_line()
    {
        var peer = Peer(Frame("""{"id": 1, "type": "error", "error": {"error_type": "DirtyError", "message": "Unknown manage operation: x"}}"""));
        var e = Assert.Throws<IOException>(() => DirtyArbiterClient.Request(SocketPath, new JsonObject { ["type"] = "manage" }, TimeSpan.FromSeconds(30)));
        Assert.Equal("Unknown manage operation: x", e.Message);
        await peer;
    }

    [Fact]
    public async Task An_oversized_or_truncated_reply_is_an_IOException()
    {
        var peer = Peer([0xff, 0xff, 0xff, 0xff]);
        Assert.Throws<IOException>(() => DirtyArbiterClient.Request(SocketPath, new JsonObject { ["type"] = "status" }, TimeSpan.FromSeconds(30)));
        await peer;
        File.Delete(SocketPath);
        peer = Peer([0, 0, 0, 9, (byte)'{']);
        Assert.Throws<IOException>(() => DirtyArbiterClient.Request(SocketPath, new JsonObject { ["type"] = "status" }, TimeSpan.FromSeconds(30)));
        await peer;
    }

    [Fact]
    public void No_arbiter_is_an_IOException_naming_the_socket()
    {
        var e = Assert.Throws<IOException>(() => DirtyArbiterClient.Request(SocketPath, new JsonObject { ["type"] = "status" }, TimeSpan.FromSeconds(5)));
        Assert.Contains(SocketPath, e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
