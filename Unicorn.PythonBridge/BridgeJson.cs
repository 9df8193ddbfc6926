using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Unicorn.PythonBridge;

/// <summary>
/// The bridge's JSON without reflection, so the native (NativeAOT) build writes it too: the fixed shapes the Python
/// side reads are written with a <see cref="Utf8JsonWriter"/> (<see cref="Start"/>/<see cref="Finish"/>), the plain
/// collections serialised through <see cref="BridgeJsonContext"/>. Both use the serializer's defaults (its encoder
/// escapes every non-ASCII character, so the text is latin-1), byte for byte what reflection-based
/// <c>JsonSerializer.Serialize</c> wrote (BridgeJsonTests).
/// </summary>
internal static class BridgeJson
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>
    /// This thread's writer, emptied: the per-request paths reuse one buffer instead of a serializer's per call. Write
    /// one value and call <see cref="Finish"/> before anything else on the thread starts another.
    /// </summary>
    public static Utf8JsonWriter Start()
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        if (t_writer is { } writer)
        {
            writer.Reset(buffer);
            return writer;
        }

        return t_writer = new Utf8JsonWriter(buffer);
    }

    /// <summary>What was written since <see cref="Start"/>, as a string.</summary>
    public static string Finish(Utf8JsonWriter writer)
    {
        writer.Flush();
        var buffer = t_buffer!;
        var text = Encoding.UTF8.GetString(buffer.WrittenSpan);
        if (buffer.Capacity > 64 * 1024)
        {
            // One huge request's headers: not kept for the thread's life.
            t_buffer = null;
            t_writer = null;
        }

        return text;
    }
}

/// <summary>The collections the bridge serialises whole (default options, as the reflection serializer had).</summary>
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, string?[]>))]
[JsonSerializable(typeof(ConfigFile.PythonServerHooks.RequestRewrite))]
internal sealed partial class BridgeJsonContext : JsonSerializerContext;
