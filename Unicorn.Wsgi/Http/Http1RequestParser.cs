using System.Buffers;
using System.Net;

namespace Unicorn.Wsgi.Http;

/// <summary>
/// Incremental HTTP/1.x request-head parser with Gunicorn 26's rules (gunicorn/http/message.py), at least
/// as strict. One per connection; not thread-safe.
/// <para>
/// Three outcomes, as Kestrel's parser: <c>true</c> (head parsed, reader advanced past it), <c>false</c>
/// (more bytes needed, reader untouched), or a <see cref="BadHttpRequestException"/>. The same bytes give
/// the same answer however they are split across calls: the request line is checked as soon as its CRLF
/// is there (as Gunicorn does), every limit is decided on the bytes alone, and the head is turned into
/// strings only once it is complete.
/// </para>
/// <para>
/// Between a <c>false</c> and the next call the reader must present the same unconsumed bytes, plus any
/// that arrived since (as a Pipe does): the parser remembers how far it searched, so a head that arrives
/// a byte at a time costs linear, not quadratic, time.
/// </para>
/// Call <see cref="StartConnection(bool)"/> when a connection starts: it says whether the peer's
/// forwarded/scheme headers may be believed. Before it is called nobody is trusted. The PROXY protocol
/// header is not HTTP and is read before this parser sees a byte (Connections/ProxyHeaderParser).
/// </summary>
public sealed partial class Http1RequestParser
{
    private readonly HttpParserOptions _options;
    private readonly byte[][] _secureSchemeNames;
    private readonly byte[][] _secureSchemeValues;
    private readonly byte[][] _forwarderNames;
    private readonly bool _forwarderAny;
    private bool _forwardedTrusted;

    public Http1RequestParser(HttpParserOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        var tables = options.Tables;
        _secureSchemeNames = tables.SecureSchemeNames;
        _secureSchemeValues = tables.SecureSchemeValues;
        _forwarderAny = tables.ForwarderAny;
        _forwarderNames = tables.ForwarderNames;
    }

    /// <summary>A parser for a connection from <paramref name="peer"/>; see <see cref="StartConnection(IPAddress?)"/>.</summary>
    public Http1RequestParser(HttpParserOptions options, IPAddress? peer)
        : this(options)
    {
        StartConnection(peer);
    }

    public HttpParserOptions Options => _options;

    /// <summary>
    /// Begins a connection from <paramref name="peer"/> (null for a unix-socket peer, which Gunicorn trusts
    /// unconditionally): its <c>secure_scheme_headers</c>/<c>forwarder_headers</c> count when it is in
    /// <c>forwarded_allow_ips</c>.
    /// </summary>
    public void StartConnection(IPAddress? peer) => StartConnection(_options.ForwardedAllowIps.Contains(peer));

    /// <summary>
    /// Begins a connection whose peer the caller already judged (the connection pipeline decides it once per
    /// connection): <paramref name="forwardedTrusted"/> says whether its forwarded/scheme headers count.
    /// </summary>
    public void StartConnection(bool forwardedTrusted)
    {
        _forwardedTrusted = forwardedTrusted;
        ResetScan();
    }

    /// <summary>
    /// Parses one request head: request line, header fields, and the empty line. See the class summary
    /// for the three outcomes. On <c>true</c>, <paramref name="head"/> is reset and filled, and the body
    /// (if any) starts at the reader's position.
    /// </summary>
    public bool TryParseHead(ref SequenceReader<byte> reader, RequestHead head)
    {
        ArgumentNullException.ThrowIfNull(head);
        var buffer = reader.UnreadSequence;
        if (buffer.Length < _examined)
        {
            // Not the bytes we saw last time plus more: start over.
            ResetScan();
        }

        // The request line, bounded by limit_request_line.
        var limit = _options.EffectiveLimitRequestLine;
        long lineLength = _lineLength;
        if (lineLength < 0)
        {
            var window = buffer.Length > limit + 2 ? buffer.Slice(0, limit + 2) : buffer;
            lineLength = IndexOf(window, "\r\n"u8, _lineScanned - 1);
            if (lineLength < 0)
            {
                if (buffer.Length > limit + 2)
                {
                    // Gunicorn's figure: the line's length when its CRLF has arrived, else the bytes read so far.
                    var end = IndexOf(buffer, "\r\n"u8, window.Length - 1);
                    HttpRejection.Throw(RequestRejectionReason.RequestLineTooLong, $"({(end >= 0 ? end : buffer.Length)} > {limit})");
                }
                _lineScanned = window.Length;
                _examined = buffer.Length;
                return false;
            }
            if (lineLength > limit)
            {
                HttpRejection.Throw(RequestRejectionReason.RequestLineTooLong, $"({lineLength} > {limit})");
            }
        }

        // The header section: up to the first empty line, bounded by Gunicorn's max_buffer_headers.
        var rest = buffer.Slice(lineLength + 2);
        long sectionLength;
        long headLength;
        byte[]? lineCopy = null;
        try
        {
            var line = Contiguous(buffer.Slice(0, lineLength), ref lineCopy);
            if (_lineLength < 0)
            {
                // Checked as soon as the line is complete, as Gunicorn does, and only once.
                _requestLine = ValidateRequestLine(line);
                _lineLength = (int)lineLength;
            }
            var requestLine = _requestLine;

            if (rest.Length < 2)
            {
                _examined = buffer.Length;
                return false;
            }
            if (StartsWithCrlf(rest))
            {
                sectionLength = 0;
                headLength = lineLength + 4;
            }
            else
            {
                // The section and its empty line must fit in max_buffer_headers. Deciding on exactly that,
                // not on how much happens to be buffered, keeps the answer independent of packet sizes.
                var max = _options.MaxHeaderSectionBytes;
                var searched = rest.Length > max ? rest.Slice(0, max) : rest;
                sectionLength = IndexOf(searched, "\r\n\r\n"u8, _sectionScanned - 3);
                if (sectionLength < 0)
                {
                    if (rest.Length >= max)
                    {
                        HttpRejection.Throw(RequestRejectionReason.HeaderSectionTooLarge);
                    }
                    _sectionScanned = searched.Length;
                    _examined = buffer.Length;
                    return false;
                }
                headLength = lineLength + 2 + sectionLength + 4;
            }

            ResetScan();
            head.Reset();
            FillRequestLine(line, requestLine, head);
            try
            {
                if (sectionLength > 0)
                {
                    byte[]? sectionCopy = null;
                    try
                    {
                        var section = Contiguous(rest.Slice(0, sectionLength), ref sectionCopy);
                        var sink = new HeadSink(this, head);
                        HeaderFieldParser.Parse(section, _options, isTrailer: false, ref sink);
                    }
                    finally
                    {
                        if (sectionCopy is not null)
                        {
                            ArrayPool<byte>.Shared.Return(sectionCopy);
                        }
                    }
                }
                SetBodyFraming(head);
            }
            catch (BadHttpRequestException e) when (BadHttpRequestException.CarriesHead(e.Reason))
            {
                // Gunicorn's InvalidHeader(..., req=self): the refusal is access-logged with this head.
                e.Head = head;
                throw;
            }
        }
        finally
        {
            if (lineCopy is not null)
            {
                ArrayPool<byte>.Shared.Return(lineCopy);
            }
        }
        reader.Advance(headLength);
        return true;
    }

    /// <summary>
    /// The error for a connection that ended with <paramref name="pending"/> bytes of an unfinished request
    /// (Gunicorn's NoMoreData). A connection that ends between requests (nothing pending) is a normal close.
    /// </summary>
    public static BadHttpRequestException UnexpectedEnd(ReadOnlySequence<byte> pending)
    {
        var shown = pending.Length > 200 ? pending.Slice(0, 200) : pending;
        return HttpRejection.Create(RequestRejectionReason.UnexpectedEndOfInput, shown.ToArray());
    }

    // Where the search for an incomplete head stopped, so bytes arriving one at a time cost linear time.
    // Valid because a caller that got false presents the same unconsumed bytes again, plus more.
    private long _examined;
    private long _lineScanned;
    private long _sectionScanned;
    private int _lineLength = -1;
    private RequestLine _requestLine;

    private void ResetScan()
    {
        _examined = _lineScanned = _sectionScanned = 0;
        _lineLength = -1;
    }

    /// <summary>Offset of <paramref name="delimiter"/> in <paramref name="s"/>, searching from <paramref name="from"/>; -1 if absent.</summary>
    private static long IndexOf(ReadOnlySequence<byte> s, ReadOnlySpan<byte> delimiter, long from)
    {
        from = Math.Clamp(from, 0, s.Length);
        if (s.IsSingleSegment)
        {
            var i = s.FirstSpan[(int)from..].IndexOf(delimiter);
            return i < 0 ? -1 : from + i;
        }
        var r = new SequenceReader<byte>(s.Slice(from));
        return r.TryReadTo(out ReadOnlySequence<byte> before, delimiter) ? from + before.Length : -1;
    }

    private static bool StartsWithCrlf(ReadOnlySequence<byte> s)
    {
        Span<byte> two = stackalloc byte[2];
        s.Slice(0, 2).CopyTo(two);
        return two[0] == '\r' && two[1] == '\n';
    }

    internal static ReadOnlySpan<byte> Contiguous(ReadOnlySequence<byte> seq, ref byte[]? rented)
    {
        if (seq.IsSingleSegment)
        {
            return seq.FirstSpan;
        }
        rented = ArrayPool<byte>.Shared.Rent((int)seq.Length);
        seq.CopyTo(rented);
        return rented.AsSpan(0, (int)seq.Length);
    }
}
