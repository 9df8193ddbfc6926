using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Unicorn.Wsgi.Http;

/// <summary>
/// Throw helpers for <see cref="BadHttpRequestException"/>. Kept out of line so the parsing loops stay small;
/// messages follow Gunicorn's wording, with the offending bytes shown as Python's repr() would (control
/// characters escaped, so nothing a client sends can forge a log line) and cut at 200 characters.
/// </summary>
internal static class HttpRejection
{
    private const int MaxShown = 200;

    [DoesNotReturn, StackTraceHidden]
    public static void Throw(RequestRejectionReason reason) => throw Create(reason, []);

    [DoesNotReturn, StackTraceHidden]
    public static void Throw(RequestRejectionReason reason, ReadOnlySpan<byte> subject) => throw Create(reason, subject);

    [DoesNotReturn, StackTraceHidden]
    public static void Throw(RequestRejectionReason reason, string subject) => throw Create(reason, subject);

    public static BadHttpRequestException Create(RequestRejectionReason reason, ReadOnlySpan<byte> subject)
        => Create(reason, Encoding.Latin1.GetString(subject.Length > MaxShown ? subject[..MaxShown] : subject));

    public static BadHttpRequestException Create(RequestRejectionReason reason, string subject)
    {
        // Gunicorn upper-cases a field's name once it is known to be a token, so each later complaint about the field
        // names it in capitals; a name that is not a token is shown as sent. Tokens are ASCII: no case-shift surprises.
        if (reason is RequestRejectionReason.InvalidHeaderValue or RequestRejectionReason.ObsoleteFolding
            or RequestRejectionReason.UnderscoreInHeaderName or RequestRejectionReason.ForbiddenTrailerField)
        {
            subject = subject.ToUpperInvariant();
        }

        var r = Repr(subject);
        string message;
        string? detail = null;
        switch (reason)
        {
            case RequestRejectionReason.UnexpectedEndOfInput:
                message = "No more data after: " + r;
                break;
            case RequestRejectionReason.InvalidRequestLine or RequestRejectionReason.EmptyRequestTarget
                or RequestRejectionReason.InvalidRequestTarget or RequestRejectionReason.AsteriskFormWithoutOptions
                or RequestRejectionReason.AuthorityFormWithoutConnect:
                message = "Invalid HTTP request line: " + r;
                detail = $"Invalid Request Line '{message}'";
                break;
            case RequestRejectionReason.InvalidRequestMethod:
                message = "Invalid HTTP method: " + r;
                detail = $"Invalid Method '{message}'";
                break;
            case RequestRejectionReason.InvalidHttpVersion or RequestRejectionReason.UnsupportedHttpVersion:
                // A version that parsed but is not served is shown as Gunicorn's tuple, "(2, 0)", not as a string.
                message = "Invalid HTTP Version: " + (reason == RequestRejectionReason.UnsupportedHttpVersion ? subject : r);
                detail = $"Invalid HTTP Version '{message}'";
                break;
            case RequestRejectionReason.RequestLineTooLong:
                message = "Request Line is too large " + subject;
                break;
            case RequestRejectionReason.InvalidHeaderName or RequestRejectionReason.UnderscoreInHeaderName
                or RequestRejectionReason.ForbiddenTrailerField:
                message = "Invalid HTTP header name: " + r;
                break;
            case RequestRejectionReason.ObsoleteFolding:
                message = "Obsolete line folding is unacceptable: " + r;
                break;
            case RequestRejectionReason.TooManyHeaders:
                message = "limit request headers fields";
                detail = $"Error parsing headers: '{message}'";
                break;
            case RequestRejectionReason.HeaderFieldTooLarge:
                message = "limit request headers fields size";
                detail = $"Error parsing headers: '{message}'";
                break;
            case RequestRejectionReason.HeaderSectionTooLarge:
                message = "max buffer headers";
                detail = $"Error parsing headers: '{message}'";
                break;
            case RequestRejectionReason.ExpectationFailed:
                message = "Unable to comply with expectation: " + r;
                break;
            case RequestRejectionReason.ConflictingSchemeHeaders:
                message = "Contradictory scheme headers";
                break;
            case RequestRejectionReason.PathOutsideScriptName:
                message = "Configuration problem: " + subject; // the rest is the caller's, which knows the path and SCRIPT_NAME
                break;
            case RequestRejectionReason.UnsupportedTransferCoding:
                message = "Unsupported transfer coding: " + r;
                break;
            case RequestRejectionReason.InvalidChunkSize or RequestRejectionReason.ChunkSizeOverflow:
                message = "Invalid chunk size: " + r;
                break;
            case RequestRejectionReason.InvalidChunkExtension:
                message = "Invalid chunk extension: " + subject;
                break;
            case RequestRejectionReason.ChunkMissingTerminator:
                message = "Invalid chunk terminator is not '\\r\\n': " + r;
                break;
            case RequestRejectionReason.InvalidProxyLine:
                message = "Invalid PROXY line: " + r;
                detail = $"'{message}'";
                break;
            case RequestRejectionReason.InvalidProxyHeader:
                message = "Invalid PROXY header: " + subject;
                break;
            case RequestRejectionReason.ForbiddenProxyRequest:
                message = $"Proxy request from {r} not allowed";
                detail = "Request forbidden";
                break;
            default:
                message = "Invalid HTTP Header: " + r;
                break;
        }
        return new BadHttpRequestException(reason, message, detail ?? message);
    }

    /// <summary>Python's repr() of a str: quoted, with backslash escapes for anything unprintable.</summary>
    internal static string Repr(string s)
    {
        var quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        var sb = new StringBuilder(s.Length + 2);
        sb.Append(quote);
        foreach (var c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c == quote)
                    {
                        sb.Append('\\').Append(c);
                    }
                    else if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0xad || c > 0xff)
                    {
                        sb.Append(c > 0xff ? $"\\u{(int)c:x4}" : $"\\x{(int)c:x2}");
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        return sb.Append(quote).ToString();
    }
}
