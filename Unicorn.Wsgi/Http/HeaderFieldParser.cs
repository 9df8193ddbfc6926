using System.Buffers;

namespace Unicorn.Wsgi.Http;

/// <summary>
/// Parses a complete header (or trailer) section, the bytes between the start line and the empty line,
/// with Gunicorn's rules and in its order: field count, colon, name token, forbidden trailer names,
/// obs-fold, control bytes in the value, line size. Lines end only at CRLF; a bare CR or LF stays in the
/// line and is refused where it lands (name or value).
/// </summary>
internal static class HeaderFieldParser
{
    public static void Parse<TSink>(ReadOnlySpan<byte> section, HttpParserOptions options, bool isTrailer, ref TSink sink)
        where TSink : struct, IHeaderFieldSink
    {
        var limitFields = options.EffectiveLimitRequestFields;
        var limitSize = options.EffectiveLimitRequestFieldSize;
        var count = 0;
        byte[]? folded = null;
        try
        {
            while (!section.IsEmpty)
            {
                if (count >= limitFields)
                {
                    HttpRejection.Throw(RequestRejectionReason.TooManyHeaders);
                }
                var line = NextLine(ref section);
                var lineSize = line.Length + 2;
                var colon = line.IndexOf((byte)':');
                if (colon <= 0)
                {
                    HttpRejection.Throw(RequestRejectionReason.MissingHeaderColon, line);
                }
                var name = line[..colon];
                if (options.StripHeaderSpaces)
                {
                    name = HttpChars.TrimEndSpTab(name);
                }
                if (!HttpChars.IsToken(name))
                {
                    HttpRejection.Throw(RequestRejectionReason.InvalidHeaderName, name);
                }
                if (isTrailer && IsForbiddenTrailer(name))
                {
                    HttpRejection.Throw(RequestRejectionReason.ForbiddenTrailerField, name);
                }
                var value = HttpChars.TrimSpTab(line[(colon + 1)..]);

                if (!section.IsEmpty && (section[0] == ' ' || section[0] == '\t'))
                {
                    if (!options.PermitObsoleteFolding)
                    {
                        HttpRejection.Throw(RequestRejectionReason.ObsoleteFolding, name);
                    }
                    if (lineSize > limitSize)
                    {
                        // Already too long; its continuation can only add to it.
                        HttpRejection.Throw(RequestRejectionReason.HeaderFieldTooLarge);
                    }
                    folded ??= ArrayPool<byte>.Shared.Rent(limitSize);
                    var length = value.Length;
                    value.CopyTo(folded);
                    while (!section.IsEmpty && (section[0] == ' ' || section[0] == '\t'))
                    {
                        var more = NextLine(ref section);
                        lineSize += more.Length + 2;
                        if (lineSize > limitSize)
                        {
                            HttpRejection.Throw(RequestRejectionReason.HeaderFieldTooLarge);
                        }
                        folded[length++] = (byte)' ';
                        var part = HttpChars.TrimSpTab(more);
                        part.CopyTo(folded.AsSpan(length));
                        length += part.Length;
                    }
                    value = folded.AsSpan(0, length);
                }

                if (value.ContainsAny(HttpChars.ValueForbidden))
                {
                    HttpRejection.Throw(RequestRejectionReason.InvalidHeaderValue, name);
                }
                if (lineSize > limitSize)
                {
                    HttpRejection.Throw(RequestRejectionReason.HeaderFieldTooLarge);
                }
                count++;
                sink.OnField(name, value);
            }
        }
        finally
        {
            if (folded is not null)
            {
                ArrayPool<byte>.Shared.Return(folded);
            }
        }
    }

    private static ReadOnlySpan<byte> NextLine(ref ReadOnlySpan<byte> section)
    {
        var end = section.IndexOf("\r\n"u8);
        ReadOnlySpan<byte> line;
        if (end < 0)
        {
            line = section;
            section = default;
        }
        else
        {
            line = section[..end];
            section = section[(end + 2)..];
        }
        return line;
    }

    // RFC 9110 §6.5.1: fields that steer routing, framing or authentication may not arrive as trailers.
    private static bool IsForbiddenTrailer(ReadOnlySpan<byte> name) =>
        HttpChars.EqualsIgnoreCase(name, "host"u8)
        || HttpChars.EqualsIgnoreCase(name, "content-length"u8)
        || HttpChars.EqualsIgnoreCase(name, "transfer-encoding"u8)
        || HttpChars.EqualsIgnoreCase(name, "trailer"u8)
        || HttpChars.EqualsIgnoreCase(name, "authorization"u8)
        || HttpChars.EqualsIgnoreCase(name, "te"u8);
}
