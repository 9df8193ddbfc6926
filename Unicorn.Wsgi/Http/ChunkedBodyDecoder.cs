using System.Buffers;
using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Http;

/// <summary>
/// Incremental decoder for a chunked request body (RFC 9112 §7.1) with Gunicorn's rules, one per body.
/// Chunk sizes are hex digits only (no sign, no spaces except before an extension), at most 15 significant
/// digits; chunk data must end in CRLF; extensions may not hold control bytes; the trailer section is
/// parsed like the header section (limits, forbidden fields, header_map) and must end in CRLF.
/// </summary>
public sealed class ChunkedBodyDecoder
{
    /// <summary>Longest chunk-size line (size, extensions, without CRLF) accepted.</summary>
    public const int MaxChunkLine = 4096;

    private readonly HttpParserOptions _options;
    private readonly List<KeyValuePair<string, string>> _trailers = [];
    private State _state;
    private long _remaining;
    private long _trailerScanned;

    private enum State
    {
        SizeLine,
        Data,
        DataEnd,
        Trailers,
        Complete,
    }

    public ChunkedBodyDecoder(HttpParserOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>True once the last chunk, the trailers and the final CRLF have been read.</summary>
    public bool IsComplete => _state == State.Complete;

    /// <summary>The trailer fields, names as sent, once <see cref="IsComplete"/>.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Trailers => _trailers;

    /// <summary>
    /// Decodes as much of <paramref name="input"/> as it can into <paramref name="destination"/>, advancing
    /// the reader past what it used, and returns the number of body bytes written. Framing is consumed even
    /// when the destination is full, so the decoder completes as early as the input allows. A return of 0
    /// with a non-empty destination and <see cref="IsComplete"/> false means more input is needed; partial
    /// framing is left unread in the reader. Throws <see cref="BadHttpRequestException"/> on bad framing.
    /// </summary>
    public int Decode(ref SequenceReader<byte> input, Span<byte> destination) => (int)Run(ref input, destination, skip: false);

    /// <summary>
    /// As <see cref="Decode"/>, but the body bytes are passed over rather than copied, however many there are:
    /// returns how many were. For a caller that first learns a body's length and where it ends in the input,
    /// then decodes it with a fresh decoder into a buffer of exactly that size, or leaves it for a stream.
    /// </summary>
    public long Skip(ref SequenceReader<byte> input) => Run(ref input, default, skip: true);

    private long Run(ref SequenceReader<byte> input, Span<byte> destination, bool skip)
    {
        long written = 0;
        while (true)
        {
            switch (_state)
            {
                case State.SizeLine:
                    if (!TryReadSizeLine(ref input))
                    {
                        return written;
                    }
                    break;

                case State.Data:
                    var n = Math.Min(_remaining, input.Remaining);
                    if (!skip)
                    {
                        n = Math.Min(n, destination.Length - written);
                    }
                    if (n == 0)
                    {
                        return written;
                    }
                    if (!skip)
                    {
                        input.UnreadSequence.Slice(0, n).CopyTo(destination[(int)written..]);
                    }
                    input.Advance(n);
                    written += n;
                    _remaining -= n;
                    if (_remaining == 0)
                    {
                        _state = State.DataEnd;
                    }
                    break;

                case State.DataEnd:
                    if (!input.TryPeek(out var cr))
                    {
                        return written;
                    }
                    if (cr != '\r')
                    {
                        HttpRejection.Throw(RequestRejectionReason.ChunkMissingTerminator, [cr]);
                    }
                    if (!input.TryPeek(1, out var lf))
                    {
                        return written;
                    }
                    if (lf != '\n')
                    {
                        HttpRejection.Throw(RequestRejectionReason.ChunkMissingTerminator, [cr, lf]);
                    }
                    input.Advance(2);
                    _state = State.SizeLine;
                    break;

                case State.Trailers:
                    if (!TryReadTrailers(ref input))
                    {
                        return written;
                    }
                    _state = State.Complete;
                    break;

                default:
                    return written;
            }
        }
    }

    /// <summary>
    /// The peer closed the connection: throws the error Gunicorn gives for a body cut short there
    /// (NoMoreData inside a chunk, ChunkMissingTerminator where a CRLF was due). Does nothing once complete.
    /// </summary>
    public void OnEndOfInput()
    {
        switch (_state)
        {
            case State.Complete:
                return;
            case State.DataEnd or State.Trailers:
                HttpRejection.Throw(RequestRejectionReason.ChunkMissingTerminator);
                break;
            default:
                HttpRejection.Throw(RequestRejectionReason.UnexpectedEndOfInput);
                break;
        }
    }

    /// <summary>Forgets everything, to decode another body.</summary>
    public void Reset()
    {
        _state = State.SizeLine;
        _remaining = 0;
        _trailerScanned = 0;
        _trailers.Clear();
    }

    private bool TryReadSizeLine(ref SequenceReader<byte> input)
    {
        var buffer = input.UnreadSequence;
        var window = buffer.Length > MaxChunkLine + 2 ? buffer.Slice(0, MaxChunkLine + 2) : buffer;
        var lineReader = new SequenceReader<byte>(window);
        if (!lineReader.TryReadTo(out ReadOnlySequence<byte> lineSeq, "\r\n"u8))
        {
            if (buffer.Length > MaxChunkLine + 2)
            {
                HttpRejection.Throw(window.PositionOf((byte)';') is not null
                    ? RequestRejectionReason.InvalidChunkExtension
                    : RequestRejectionReason.InvalidChunkSize, "chunk line too long");
            }
            return false;
        }
        byte[]? copy = null;
        try
        {
            var line = Http1RequestParser.Contiguous(lineSeq, ref copy);
            var size = line;
            var semicolon = line.IndexOf((byte)';');
            if (semicolon >= 0)
            {
                // RFC 9112 §7.1.1: whitespace may precede an extension, and only then.
                var extension = line[(semicolon + 1)..];
                if (extension.Contains((byte)'\r'))
                {
                    HttpRejection.Throw(RequestRejectionReason.InvalidChunkExtension, "bare CR not allowed");
                }
                if (extension.ContainsAny(HttpChars.ValueForbidden))
                {
                    HttpRejection.Throw(RequestRejectionReason.InvalidChunkExtension, "control character not allowed");
                }
                size = HttpChars.TrimEndSpTab(line[..semicolon]);
            }
            if (size.IsEmpty || size.ContainsAnyExcept(HttpChars.Hex))
            {
                HttpRejection.Throw(RequestRejectionReason.InvalidChunkSize, size);
            }
            var significant = size.TrimStart((byte)'0');
            if (significant.Length > 15)
            {
                HttpRejection.Throw(RequestRejectionReason.ChunkSizeOverflow, size);
            }
            long value = 0;
            foreach (var h in significant)
            {
                value = (value << 4) | (long)HexValue(h);
            }
            input.Advance(lineSeq.Length + 2);
            _remaining = value;
            _state = value == 0 ? State.Trailers : State.Data;
            return true;
        }
        finally
        {
            if (copy is not null)
            {
                ArrayPool<byte>.Shared.Return(copy);
            }
        }
    }

    private bool TryReadTrailers(ref SequenceReader<byte> input)
    {
        if (input.Remaining < 2)
        {
            return false;
        }
        if (input.IsNext("\r\n"u8, advancePast: true))
        {
            return true;
        }
        var buffer = input.UnreadSequence;
        var max = _options.MaxHeaderSectionBytes;
        // As for headers: the section and its empty line must fit in max_buffer_headers.
        var searched = buffer.Length > max ? buffer.Slice(0, max) : buffer;
        // Resume where the last search stopped (the caller presents the same bytes plus more).
        var from = Math.Clamp(_trailerScanned - 3, 0, searched.Length);
        var sectionReader = new SequenceReader<byte>(searched.Slice(from));
        if (!sectionReader.TryReadTo(out ReadOnlySequence<byte> tail, "\r\n\r\n"u8))
        {
            if (buffer.Length >= max)
            {
                HttpRejection.Throw(RequestRejectionReason.HeaderSectionTooLarge);
            }
            _trailerScanned = searched.Length;
            return false;
        }
        var sectionSeq = searched.Slice(0, from + tail.Length);
        byte[]? copy = null;
        try
        {
            var section = Http1RequestParser.Contiguous(sectionSeq, ref copy);
            var sink = new TrailerSink(_options.HeaderMap, _trailers);
            HeaderFieldParser.Parse(section, _options, isTrailer: true, ref sink);
        }
        finally
        {
            if (copy is not null)
            {
                ArrayPool<byte>.Shared.Return(copy);
            }
        }
        input.Advance(sectionSeq.Length + 4);
        return true;
    }

    private static int HexValue(byte h) => h switch
    {
        >= (byte)'0' and <= (byte)'9' => h - '0',
        >= (byte)'a' and <= (byte)'f' => h - 'a' + 10,
        _ => h - 'A' + 10,
    };

    /// <summary>Trailers get the same singleton and header_map rules as headers; nothing else applies.</summary>
    private struct TrailerSink(HeaderMapPolicy headerMap, List<KeyValuePair<string, string>> trailers) : IHeaderFieldSink
    {
        private bool _seenContentType;

        public void OnField(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
        {
            if (HttpChars.EqualsIgnoreCase(name, "content-type"u8))
            {
                if (_seenContentType)
                {
                    HttpRejection.Throw(RequestRejectionReason.DuplicateSingletonHeader, "CONTENT-TYPE");
                }
                _seenContentType = true;
            }
            if (name.Contains((byte)'_'))
            {
                if (headerMap == HeaderMapPolicy.Drop)
                {
                    return;
                }
                if (headerMap == HeaderMapPolicy.Refuse)
                {
                    HttpRejection.Throw(RequestRejectionReason.UnderscoreInHeaderName, name);
                }
            }
            trailers.Add(new(KnownStrings.HeaderName(name), KnownStrings.HeaderValue(value)));
        }
    }
}
