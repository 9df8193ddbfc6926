using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Http;

public sealed partial class Http1RequestParser
{
    /// <summary>Applies Gunicorn's per-field policy (HeaderPolicy._apply_header_policy) and keeps the field.</summary>
    private struct HeadSink(Http1RequestParser parser, RequestHead head) : IHeaderFieldSink
    {
        private FieldPolicyState _state;

        public void OnField(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
        {
            if (parser.ApplyPolicy(name, value, head, ref _state))
            {
                var header = new KeyValuePair<string, string>(KnownStrings.HeaderName(name), KnownStrings.HeaderValue(value));
                head.Headers.Add(header);
                // Gunicorn mounts the app where a kept SCRIPT_NAME header says (nginx: proxy_set_header SCRIPT_NAME /prefix).
                if (HttpChars.EqualsIgnoreCase(name, "script_name"u8))
                {
                    head.ScriptName = header.Value;
                }
            }
        }
    }

    internal struct FieldPolicyState
    {
        public bool SeenHost;
        public bool SeenContentType;
        public bool SchemeSet;
    }

    /// <summary>
    /// The rules every field passes after its syntax is checked; <paramref name="head"/> is null for
    /// trailers. Returns false when the field is dropped (header_map = drop).
    /// </summary>
    internal bool ApplyPolicy(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, RequestHead? head, ref FieldPolicyState state)
    {
        // RFC 9110 §5.3: a singleton field cannot be combined, so a second one makes the message ambiguous.
        if (HttpChars.EqualsIgnoreCase(name, "host"u8))
        {
            if (state.SeenHost)
            {
                HttpRejection.Throw(RequestRejectionReason.DuplicateSingletonHeader, "HOST");
            }
            state.SeenHost = true;
        }
        else if (HttpChars.EqualsIgnoreCase(name, "content-type"u8))
        {
            if (state.SeenContentType)
            {
                HttpRejection.Throw(RequestRejectionReason.DuplicateSingletonHeader, "CONTENT-TYPE");
            }
            state.SeenContentType = true;
        }

        if (head is not null)
        {
            if (HttpChars.EqualsIgnoreCase(name, "expect"u8))
            {
                if (!HttpChars.EqualsIgnoreCase(value, "100-continue"u8))
                {
                    HttpRejection.Throw(RequestRejectionReason.ExpectationFailed, value);
                }
                // RFC 9110 §10.1.1: an HTTP/1.0 server ignores 100-continue.
                if (head.VersionMajor > 1 || (head.VersionMajor == 1 && head.VersionMinor >= 1))
                {
                    head.ExpectContinue = true;
                }
            }
            if (_forwardedTrusted)
            {
                for (var i = 0; i < _secureSchemeNames.Length; i++)
                {
                    if (EqualsUpper(name, _secureSchemeNames[i]))
                    {
                        // The value comparison is exact (case-sensitive), as Gunicorn documents.
                        var scheme = value.SequenceEqual(_secureSchemeValues[i]) ? "https" : "http";
                        if (state.SchemeSet && scheme != head.ForwardedScheme)
                        {
                            HttpRejection.Throw(RequestRejectionReason.ConflictingSchemeHeaders);
                        }
                        state.SchemeSet = true;
                        head.ForwardedScheme = scheme;
                    }
                }
            }
        }

        if (name.Contains((byte)'_'))
        {
            if (head is not null && _forwardedTrusted && (_forwarderAny || IsForwarderHeader(name)))
            {
                return true;
            }
            switch (_options.HeaderMap)
            {
                case HeaderMapPolicy.Dangerous:
                    return true;
                case HeaderMapPolicy.Drop:
                    return false;
                default:
                    HttpRejection.Throw(RequestRejectionReason.UnderscoreInHeaderName, name);
                    break;
            }
        }
        return true;
    }

    private bool IsForwarderHeader(ReadOnlySpan<byte> name)
    {
        foreach (var f in _forwarderNames)
        {
            if (EqualsUpper(name, f))
            {
                return true;
            }
        }
        return false;
    }

    // Case-insensitive ASCII comparison against a configured (upper-case) name.
    private static bool EqualsUpper(ReadOnlySpan<byte> name, ReadOnlySpan<byte> upper)
    {
        if (name.Length != upper.Length)
        {
            return false;
        }
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i] is >= (byte)'a' and <= (byte)'z' ? (byte)(name[i] - 0x20) : name[i];
            var u = upper[i] is >= (byte)'a' and <= (byte)'z' ? (byte)(upper[i] - 0x20) : upper[i];
            if (c != u)
            {
                return false;
            }
        }
        return true;
    }

    // Gunicorn's set_body_reader and should_close, over the fields that were kept.
    private static void SetBodyFraming(RequestHead head)
    {
        string? contentLength = null;
        var chunked = false;
        var mustClose = false;
        foreach (var (name, value) in head.Headers)
        {
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (contentLength is not null)
                {
                    HttpRejection.Throw(RequestRejectionReason.DuplicateContentLength, "CONTENT-LENGTH");
                }
                contentLength = value;
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var part in value.AsSpan().Split(','))
                {
                    var coding = value.AsSpan(part).Trim(" \t");
                    if (coding.Equals("chunked", StringComparison.OrdinalIgnoreCase))
                    {
                        // Transfer codings stack; chunked twice is never meant.
                        if (chunked)
                        {
                            HttpRejection.Throw(RequestRejectionReason.ChunkedTwice, "TRANSFER-ENCODING");
                        }
                        chunked = true;
                    }
                    else if (coding.Equals("identity", StringComparison.OrdinalIgnoreCase))
                    {
                        if (chunked)
                        {
                            HttpRejection.Throw(RequestRejectionReason.ChunkedNotLast, "TRANSFER-ENCODING");
                        }
                    }
                    else if (coding.Equals("gzip", StringComparison.OrdinalIgnoreCase)
                        || coding.Equals("deflate", StringComparison.OrdinalIgnoreCase)
                        || coding.Equals("compress", StringComparison.OrdinalIgnoreCase))
                    {
                        if (chunked)
                        {
                            HttpRejection.Throw(RequestRejectionReason.ChunkedNotLast, "TRANSFER-ENCODING");
                        }
                        mustClose = true;
                    }
                    else
                    {
                        HttpRejection.Throw(RequestRejectionReason.UnsupportedTransferCoding, value);
                    }
                }
            }
        }

        var http11 = head.VersionMajor > 1 || (head.VersionMajor == 1 && head.VersionMinor >= 1);
        if (mustClose && !chunked)
        {
            // RFC 9112 §6.3: a content coding without chunked after it leaves the length unknowable; a
            // proxy in front would frame by Transfer-Encoding while Content-Length (or nothing) framed it
            // here. Gunicorn accepts this and closes afterwards; we refuse it.
            HttpRejection.Throw(RequestRejectionReason.TransferCodingWithoutChunked, "TRANSFER-ENCODING");
        }
        if (chunked)
        {
            // RFC 9112 §6.1: chunked on HTTP/1.0 and chunked with Content-Length both leave the framing
            // open to a different reading by whatever sits in front of us.
            if (!http11)
            {
                HttpRejection.Throw(RequestRejectionReason.ChunkedOnHttp10, "TRANSFER-ENCODING");
            }
            if (contentLength is not null)
            {
                HttpRejection.Throw(RequestRejectionReason.ContentLengthWithTransferEncoding, "CONTENT-LENGTH");
            }
            head.IsChunked = true;
        }
        else if (contentLength is not null)
        {
            head.ContentLength = ParseContentLength(contentLength);
        }

        head.KeepAlive = !mustClose && KeepAliveFromConnection(head, http11);
    }

    private static long ParseContentLength(string value)
    {
        if (value.Length == 0 || value.Length > 18)
        {
            HttpRejection.Throw(RequestRejectionReason.InvalidContentLength, "CONTENT-LENGTH");
        }
        long n = 0;
        foreach (var c in value)
        {
            if (!char.IsAsciiDigit(c))
            {
                HttpRejection.Throw(RequestRejectionReason.InvalidContentLength, "CONTENT-LENGTH");
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }

    private static bool KeepAliveFromConnection(RequestHead head, bool http11)
    {
        // Only the first Connection field counts, as in Gunicorn.
        foreach (var (name, value) in head.Headers)
        {
            if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                var v = value.AsSpan().Trim(" \t");
                if (v.Equals("close", StringComparison.OrdinalIgnoreCase))
                {
                    return false;
                }
                if (v.Equals("keep-alive", StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
                break;
            }
        }
        return http11;
    }
}
