using System.Buffers;
using System.Buffers.Binary;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// h2c by HTTP/1.1 Upgrade (<c>http2_cleartext = upgrade | both</c>, RFC 7540 §3.2), for peers in
/// forwarded_allow_ips on cleartext listeners. Kestrel has no Upgrade route of its own, so the HTTP/1 connection
/// answers 101, reads the client's connection preface and first SETTINGS, and hands Kestrel the connection with
/// the upgrade request put in front as stream 1 (HEADERS, END_STREAM): Kestrel runs it, and the response goes to
/// the client on stream 1 as the RFC says. Requests with a body keep HTTP/1.1 (the RFC lets a server ignore the
/// Upgrade), so a body never has to be held while the protocol switches. References no ASP.NET Core type: a
/// worker builds it only when it offers h2.
/// </summary>
internal sealed class Http2CleartextUpgrade(IConnectionHandler http2, TimeSpan readTimeout)
{
    private const byte FrameHeaders = 0x1;
    private const byte FrameSettings = 0x4;
    private const byte FrameContinuation = 0x9;
    private const byte FlagEndStream = 0x1;
    private const byte FlagEndHeaders = 0x4;
    private const int FrameHeaderLength = 9;
    // Every peer accepts frames this large (SETTINGS_MAX_FRAME_SIZE's floor).
    private const int MaxFramePayload = 16384;
    // Six settings are defined; a SETTINGS frame far longer than that is not a client starting HTTP/2.
    private const int MaxSettingsPayload = 6 * 64;

    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();
    private static readonly byte[] SwitchingProtocols = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"u8.ToArray();

    // Connection-specific fields (RFC 9113 §8.2.2), and Host, which becomes :authority.
    private static readonly HashSet<string> NotForwarded = new(StringComparer.OrdinalIgnoreCase)
    {
        "connection", "upgrade", "http2-settings", "keep-alive", "proxy-connection", "transfer-encoding", "host",
    };

    /// <summary>
    /// Whether <paramref name="head"/> asks for h2c and may have it: <c>Upgrade: h2c</c> with exactly one valid
    /// <c>HTTP2-Settings</c>, both named in <c>Connection</c>, and no body.
    /// </summary>
    public static bool IsRequested(RequestHead head)
    {
        if (head.HasBody || head.VersionMajor != 1 || head.VersionMinor != 1 || head.Method == "CONNECT")
        {
            return false;
        }

        string? settings = null;
        bool upgrade = false, connectionUpgrade = false, connectionSettings = false;
        foreach (var (name, value) in head.Headers)
        {
            if (name.Equals("upgrade", StringComparison.OrdinalIgnoreCase))
            {
                upgrade |= HasToken(value, "h2c");
            }
            else if (name.Equals("connection", StringComparison.OrdinalIgnoreCase))
            {
                connectionUpgrade |= HasToken(value, "upgrade");
                connectionSettings |= HasToken(value, "http2-settings");
            }
            else if (name.Equals("http2-settings", StringComparison.OrdinalIgnoreCase))
            {
                if (settings is not null)
                {
                    return false; // RFC 7540 §3.2.1: exactly one
                }

                settings = value;
            }
        }

        return upgrade && connectionUpgrade && connectionSettings && settings is not null && IsSettingsPayload(settings);
    }

    /// <summary>Switches the connection to HTTP/2 and serves it there until it ends; <paramref name="head"/> becomes stream 1.</summary>
    public async Task RunAsync(ConnectionContext connection, RequestHead head)
    {
        // Built before the head is reused or the 101 sent: the connection's parser owns the head.
        var stream1 = RequestFrames(head);
        await connection.Transport.WriteAsync(SwitchingProtocols);
        await connection.Transport.FlushAsync();
        if (await ReadClientStartAsync(connection) is not { } settings)
        {
            return; // the client did not start HTTP/2 as it must after 101: close
        }

        // Kestrel reads what the client would have sent with prior knowledge: its preface and SETTINGS, then
        // the upgrade request as stream 1, then the rest of the connection.
        var prefix = new byte[Preface.Length + settings.Length + stream1.Length];
        Preface.CopyTo(prefix, 0);
        settings.CopyTo(prefix, Preface.Length);
        stream1.CopyTo(prefix, Preface.Length + settings.Length);
        connection.PrependInput(prefix);
        await http2.RunAsync(connection);
    }

    /// <summary>The client's preface and first frame, which must be SETTINGS (RFC 7540 §3.5); null: close.</summary>
    private async Task<byte[]?> ReadClientStartAsync(ConnectionContext connection)
    {
        var deadline = Environment.TickCount64 + (long)readTimeout.TotalMilliseconds;
        while (true)
        {
            var left = deadline - Environment.TickCount64;
            if (left <= 0 || await connection.ReadAsync(TimeSpan.FromMilliseconds(left)) is not { } read)
            {
                return null;
            }

            var buffer = read.Buffer;
            var outcome = TryTakeSettings(buffer, out var settings);
            if (outcome > 0)
            {
                connection.Input.AdvanceTo(buffer.GetPosition(Preface.Length + settings!.Length));
                return settings;
            }

            if (outcome < 0 || read.IsCompleted)
            {
                connection.Input.AdvanceTo(buffer.End);
                return null;
            }

            connection.Input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>1: the preface and a whole SETTINGS frame are there; 0: more bytes needed; -1: not HTTP/2.</summary>
    internal static int TryTakeSettings(ReadOnlySequence<byte> buffer, out byte[]? settings)
    {
        settings = null;
        Span<byte> start = stackalloc byte[Preface.Length + FrameHeaderLength];
        var n = (int)Math.Min(buffer.Length, start.Length);
        buffer.Slice(0, n).CopyTo(start);
        var prefaceBytes = Math.Min(n, Preface.Length);
        if (!start[..prefaceBytes].SequenceEqual(Preface.AsSpan(0, prefaceBytes)))
        {
            return -1;
        }

        if (n < start.Length)
        {
            return 0;
        }

        var header = start[Preface.Length..];
        var length = (header[0] << 16) | (header[1] << 8) | header[2];
        var streamId = BinaryPrimitives.ReadUInt32BigEndian(header[5..]) & 0x7FFFFFFF;
        if (header[3] != FrameSettings || (header[4] & 0x1) != 0 || streamId != 0 || length % 6 != 0 || length > MaxSettingsPayload)
        {
            return -1;
        }

        if (buffer.Length < Preface.Length + FrameHeaderLength + length)
        {
            return 0;
        }

        settings = buffer.Slice(Preface.Length, FrameHeaderLength + length).ToArray();
        return 1;
    }

    /// <summary>
    /// The upgrade request as HTTP/2 frames for stream 1: a header block (HPACK literals without indexing: our
    /// own parsed head, so no table state is needed), in HEADERS and CONTINUATION frames, ending the stream.
    /// </summary>
    internal static byte[] RequestFrames(RequestHead head)
    {
        var block = new ArrayBufferWriter<byte>(512);
        WriteField(block, ":method", head.Method);
        WriteField(block, ":scheme", "http");
        var authority = head.GetHeader("host") ?? head.Host;
        if (!string.IsNullOrEmpty(authority))
        {
            WriteField(block, ":authority", authority);
        }

        WriteField(block, ":path", PathOf(head));
        var named = ConnectionOptions(head);
        foreach (var (name, value) in head.Headers)
        {
            if (NotForwarded.Contains(name) || named.Contains(name)
                || (name.Equals("te", StringComparison.OrdinalIgnoreCase) && !value.Equals("trailers", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            WriteField(block, name.ToLowerInvariant(), value);
        }

        var payload = block.WrittenSpan;
        var frames = new ArrayBufferWriter<byte>(payload.Length + FrameHeaderLength * (1 + payload.Length / MaxFramePayload));
        var first = true;
        do
        {
            var n = Math.Min(payload.Length, MaxFramePayload);
            var last = n == payload.Length;
            var type = first ? FrameHeaders : FrameContinuation;
            var flags = (byte)((first ? FlagEndStream : 0) | (last ? FlagEndHeaders : 0));
            var frameHeader = frames.GetSpan(FrameHeaderLength);
            frameHeader[0] = (byte)(n >> 16);
            frameHeader[1] = (byte)(n >> 8);
            frameHeader[2] = (byte)n;
            frameHeader[3] = type;
            frameHeader[4] = flags;
            BinaryPrimitives.WriteUInt32BigEndian(frameHeader[5..], 1);
            frames.Advance(FrameHeaderLength);
            frames.Write(payload[..n]);
            payload = payload[n..];
            first = false;
        }
        while (!payload.IsEmpty);

        return frames.WrittenSpan.ToArray();
    }

    // An absolute-form target (a proxy's) is split into the path HTTP/2 carries; origin-form and "*" go as sent.
    private static string PathOf(RequestHead head)
    {
        if (head.Scheme is null)
        {
            return head.RawTarget;
        }

        var path = head.Path.Length == 0 ? "/" : head.Path;
        return head.Query.Length == 0 ? path : path + "?" + head.Query;
    }

    // Fields the Connection header names are this hop's only (RFC 9110 §7.6.1).
    private static HashSet<string> ConnectionOptions(RequestHead head)
    {
        var named = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in head.Headers)
        {
            if (name.Equals("connection", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var token in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    named.Add(token);
                }
            }
        }

        return named;
    }

    // HPACK (RFC 7541 §6.2.2): literal field without indexing, new name; strings raw (not Huffman), latin-1.
    private static void WriteField(ArrayBufferWriter<byte> block, string name, string value)
    {
        block.GetSpan(1)[0] = 0x00;
        block.Advance(1);
        WriteString(block, name);
        WriteString(block, value);
    }

    private static void WriteString(ArrayBufferWriter<byte> block, string text)
    {
        WriteInteger(block, text.Length, 7);
        var span = block.GetSpan(text.Length);
        System.Text.Encoding.Latin1.GetBytes(text, span);
        block.Advance(text.Length);
    }

    // RFC 7541 §5.1: an N-bit prefix, then 7 bits per byte; the H bit (first byte's top bit) stays 0.
    private static void WriteInteger(ArrayBufferWriter<byte> block, int value, int prefixBits)
    {
        var max = (1 << prefixBits) - 1;
        if (value < max)
        {
            block.GetSpan(1)[0] = (byte)value;
            block.Advance(1);
            return;
        }

        block.GetSpan(1)[0] = (byte)max;
        block.Advance(1);
        value -= max;
        while (value >= 0x80)
        {
            block.GetSpan(1)[0] = (byte)((value & 0x7F) | 0x80);
            block.Advance(1);
            value >>= 7;
        }

        block.GetSpan(1)[0] = (byte)value;
        block.Advance(1);
    }

    private static bool HasToken(string value, string token)
    {
        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part.Equals(token, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    // token68 in base64url without padding (RFC 7540 §3.2.1), decoding to whole 6-byte settings.
    private static bool IsSettingsPayload(string value)
    {
        var text = value.Trim().TrimEnd('=');
        if (text.Length > 4 * MaxSettingsPayload / 3 + 4)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return false;
            }
        }

        // Base64 without padding never leaves a single character over.
        return text.Length % 4 != 1 && text.Length * 6 / 8 % 6 == 0;
    }
}
