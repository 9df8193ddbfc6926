using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Unicorn.Wsgi.Arbiter.Control;

/// <summary>
/// Gunicorn's control-socket framing: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
/// Requests are <c>{"id", "command", "args"}</c>; replies <c>{"id", "status": "ok", "data"}</c> or
/// <c>{"id", "status": "error", "error"}</c>.
/// </summary>
public static class ControlProtocol
{
    /// <summary>Commands are a few words; anything near this is not a client of ours.</summary>
    public const int MaxMessageSize = 64 * 1024;

    public static byte[] Encode(JsonNode message)
    {
        ArgumentNullException.ThrowIfNull(message);
        // The node writes itself (what the serializer does for a JsonNode, without its reflection), after the
        // length, which is filled in once known.
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.Advance(4);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            message.WriteTo(writer);
        }

        var frame = buffer.WrittenSpan.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)(frame.Length - 4));
        return frame;
    }

    public static JsonObject Ok(JsonNode? id, JsonObject data) =>
        new() { ["id"] = id?.DeepClone() ?? 0, ["status"] = "ok", ["data"] = data };

    public static JsonObject Error(JsonNode? id, string error) =>
        new() { ["id"] = id?.DeepClone() ?? 0, ["status"] = "error", ["error"] = error };

    /// <summary>
    /// Reads one frame's length; null at a clean end of stream. Throws <see cref="ControlProtocolException"/>
    /// for a frame cut short or over <see cref="MaxMessageSize"/>.
    /// </summary>
    public static async Task<int?> ReadLengthAsync(Stream stream, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var prefix = new byte[4];
        var read = await ReadAtLeastAsync(stream, prefix, cancel).ConfigureAwait(false);
        if (read == 0)
        {
            return null;
        }

        if (read < 4)
        {
            throw new ControlProtocolException("incomplete length prefix", fatal: true);
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(prefix);
        return length > MaxMessageSize
            ? throw new ControlProtocolException($"message too large: {length} bytes (limit {MaxMessageSize})", fatal: true)
            : (int)length;
    }

    /// <summary>Reads a payload of <paramref name="length"/> bytes and parses it as a request object.</summary>
    public static async Task<JsonObject> ReadPayloadAsync(Stream stream, int length, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var payload = new byte[length];
        if (await ReadAtLeastAsync(stream, payload, cancel).ConfigureAwait(false) < length)
        {
            throw new ControlProtocolException("incomplete payload", fatal: true);
        }

        return Parse(payload);
    }

    /// <summary>A payload as a request object; a bad one throws a non-fatal <see cref="ControlProtocolException"/>.</summary>
    public static JsonObject Parse(ReadOnlySpan<byte> payload)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(payload);
        }
        catch (JsonException e)
        {
            throw new ControlProtocolException("Invalid JSON: " + e.Message, fatal: false);
        }

        return node as JsonObject ?? throw new ControlProtocolException("a request must be a JSON object", fatal: false);
    }

    private static async Task<int> ReadAtLeastAsync(Stream stream, byte[] buffer, CancellationToken cancel)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(total), cancel).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}
