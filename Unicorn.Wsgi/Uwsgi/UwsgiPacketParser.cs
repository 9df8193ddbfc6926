using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Unicorn.Wsgi.Uwsgi;

/// <summary>
/// The uwsgi wire format (what nginx's <c>uwsgi_pass</c> sends): a 4-byte header — modifier1, the vars
/// block's size as 16-bit little-endian, modifier2 — then the vars, each a 16-bit little-endian length and
/// bytes for the name, then the same for the value. Incremental: <see cref="TryParse"/> returns false until
/// the whole packet has arrived (never more than 4 + 65535 bytes, so a peer cannot grow the buffer past
/// that), and throws <see cref="UwsgiProtocolException"/> for a packet it refuses. No sockets.
/// </summary>
public static class UwsgiPacketParser
{
    public const int HeaderSize = 4;

    /// <summary>Gunicorn's MAX_UWSGI_VARS: more vars than this in one packet is refused.</summary>
    public const int MaxVars = 1000;

    /// <summary>
    /// Reads one packet into <paramref name="packet"/>. False: more bytes are needed (the reader is left where
    /// it was). True: the reader is past the packet, at the first body byte.
    /// </summary>
    /// <exception cref="UwsgiProtocolException">modifier1 is not 0 (501), or the vars block is malformed (400).</exception>
    public static bool TryParse(ref SequenceReader<byte> reader, UwsgiPacket packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        Span<byte> header = stackalloc byte[HeaderSize];
        if (!reader.TryCopyTo(header))
        {
            return false;
        }

        if (header[0] != 0)
        {
            // Checked before the vars, as Gunicorn does: nothing else of the packet is read.
            throw new UwsgiProtocolException(501, $"Unsupported uWSGI modifier1: {header[0]}");
        }

        var size = BinaryPrimitives.ReadUInt16LittleEndian(header[1..3]);
        if (reader.Remaining < HeaderSize + size)
        {
            return false;
        }

        packet.Reset();
        packet.Modifier1 = header[0];
        packet.Modifier2 = header[3];
        reader.Advance(HeaderSize);
        var block = reader.UnreadSequence.Slice(0, size);
        if (block.IsSingleSegment)
        {
            ParseVars(block.FirstSpan, packet);
        }
        else
        {
            var rented = ArrayPool<byte>.Shared.Rent(size);
            try
            {
                block.CopyTo(rented);
                ParseVars(rented.AsSpan(0, size), packet);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        reader.Advance(size);
        packet.ContentLength = ParseContentLength(packet.Get("CONTENT_LENGTH"));
        return true;
    }

    /// <summary>The peer closed the connection with part of a packet sent (Gunicorn's "incomplete header/vars block").</summary>
    public static UwsgiProtocolException Truncated(long buffered) =>
        new(400, buffered < HeaderSize ? "Invalid uWSGI header: incomplete header" : "Invalid uWSGI header: incomplete vars block", endOfInput: true);

    private static void ParseVars(ReadOnlySpan<byte> data, UwsgiPacket packet)
    {
        var count = 0;
        while (!data.IsEmpty)
        {
            if (count == MaxVars)
            {
                throw UwsgiProtocolException.Invalid("too many variables");
            }

            var name = ReadString(ref data, "key");
            var value = ReadString(ref data, "value");
            packet.Vars[name] = value;
            count++;
        }
    }

    private static string ReadString(ref ReadOnlySpan<byte> data, string what)
    {
        if (data.Length < 2)
        {
            throw UwsgiProtocolException.Invalid($"truncated {what} size");
        }

        var length = BinaryPrimitives.ReadUInt16LittleEndian(data);
        if (data.Length - 2 < length)
        {
            throw UwsgiProtocolException.Invalid($"truncated {what}");
        }

        var text = Encoding.Latin1.GetString(data.Slice(2, length));
        data = data[(2 + length)..];
        return text;
    }

    // Gunicorn takes int(CONTENT_LENGTH) and falls back to 0 for anything else; a length that is not a number
    // is refused here instead, because the bytes after the packet would otherwise be read as the next packet.
    private static long ParseContentLength(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return 0;
        }

        if (value.Length > 18 || value.AsSpan().ContainsAnyExceptInRange('0', '9'))
        {
            throw UwsgiProtocolException.Invalid("CONTENT_LENGTH is not a number");
        }

        return long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
