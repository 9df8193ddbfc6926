using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>
/// The master's side of the dirty arbiter's socket, for the control socket's <c>show dirty</c> and
/// <c>dirty add|remove</c>: one request (a 4-byte big-endian length, then JSON), one reply.
/// </summary>
internal static class DirtyArbiterClient
{
    private const int MaxReply = 16 * 1024 * 1024;

    /// <summary>Sends <paramref name="message"/> and returns the reply's <c>result</c>; throws <see cref="IOException"/> with one line.</summary>
    public static JsonNode? Request(string socketPath, JsonObject message, TimeSpan timeout)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
        {
            SendTimeout = (int)timeout.TotalMilliseconds,
            ReceiveTimeout = (int)timeout.TotalMilliseconds,
        };
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            socket.Send(Control.ControlProtocol.Encode(message)); // the same framing

            var head = ReadExactly(socket, 4);
            var length = BinaryPrimitives.ReadUInt32BigEndian(head);
            if (length > MaxReply)
            {
                throw new IOException($"dirty arbiter reply of {length} bytes is too large");
            }

            var reply = JsonNode.Parse(ReadExactly(socket, (int)length)) as JsonObject
                ?? throw new IOException("dirty arbiter reply is not a JSON object");
            if ((string?)reply["type"] == "error")
            {
                throw new IOException((string?)reply["error"]?["message"] ?? "dirty arbiter error");
            }

            // Detached, so the caller can put it in a reply of its own.
            var result = reply["result"];
            reply.Remove("result");
            return result;
        }
        catch (SocketException e)
        {
            throw new IOException($"dirty arbiter at {socketPath}: {e.Message}", e);
        }
        catch (JsonException e)
        {
            throw new IOException($"dirty arbiter reply is not JSON: {e.Message}", e);
        }
    }

    private static byte[] ReadExactly(Socket socket, int count)
    {
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = socket.Receive(buffer, read, count - read, SocketFlags.None);
            if (n == 0)
            {
                throw new IOException("the dirty arbiter closed the connection");
            }

            read += n;
        }

        return buffer;
    }
}
