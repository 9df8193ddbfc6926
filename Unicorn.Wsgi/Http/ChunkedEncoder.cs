using System.Buffers;

namespace Unicorn.Wsgi.Http;

/// <summary>Chunked transfer coding for responses (RFC 9112 §7.1): hex size, CRLF, data, CRLF.</summary>
public static class ChunkedEncoder
{
    /// <summary>Longest chunk-size line: 16 hex digits and CRLF.</summary>
    public const int MaxChunkHeaderLength = 18;

    /// <summary>Writes one chunk; an empty <paramref name="data"/> writes nothing (it would end the body).</summary>
    public static void WriteChunk(IBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (data.IsEmpty)
        {
            return;
        }
        var header = output.GetSpan(MaxChunkHeaderLength);
        var n = FormatChunkHeader(data.Length, header);
        output.Advance(n);
        ResponseHeadWriter.Write(output, data);
        ResponseHeadWriter.Write(output, "\r\n"u8);
    }

    /// <summary>Writes the chunk-size line for a chunk of <paramref name="length"/> bytes (for sendfile).</summary>
    public static int FormatChunkHeader(long length, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (!length.TryFormat(destination, out var n, "X", System.Globalization.CultureInfo.InvariantCulture) || n + 2 > destination.Length)
        {
            throw new ArgumentException("destination too small", nameof(destination));
        }
        destination[n++] = (byte)'\r';
        destination[n++] = (byte)'\n';
        return n;
    }

    /// <summary>The last chunk and an empty trailer section.</summary>
    public static void WriteLastChunk(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        ResponseHeadWriter.Write(output, "0\r\n\r\n"u8);
    }
}
