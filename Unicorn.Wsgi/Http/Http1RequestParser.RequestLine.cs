using System.Buffers;

namespace Unicorn.Wsgi.Http;

public sealed partial class Http1RequestParser
{
    private static readonly SearchValues<byte> UnconventionalMethodChars =
        SearchValues.Create("#abcdefghijklmnopqrstuvwxyz"u8);

    private struct RequestLine
    {
        public int MethodLength;
        public int TargetStart;
        public int TargetLength;
        public int Major;
        public int Minor;
        public RequestTarget.Parts Target;
    }

    // Gunicorn's parse_request_line, in its order: three parts split on SP, method, target, version.
    private RequestLine ValidateRequestLine(ReadOnlySpan<byte> line)
    {
        var result = default(RequestLine);
        var sp1 = line.IndexOf((byte)' ');
        var sp2 = sp1 < 0 ? -1 : line[(sp1 + 1)..].IndexOf((byte)' ');
        if (sp2 < 0)
        {
            HttpRejection.Throw(RequestRejectionReason.InvalidRequestLine, line);
        }
        sp2 += sp1 + 1;

        var method = line[..sp1];
        if (!_options.PermitUnconventionalHttpMethod
            && (method.ContainsAny(UnconventionalMethodChars) || method.Length is < 3 or > 20))
        {
            HttpRejection.Throw(RequestRejectionReason.InvalidRequestMethod, method);
        }
        if (!HttpChars.IsToken(method))
        {
            HttpRejection.Throw(RequestRejectionReason.InvalidRequestMethod, method);
        }
        result.MethodLength = sp1;

        var target = line[(sp1 + 1)..sp2];
        var fold = _options.CasefoldHttpMethod;
        var isConnect = fold ? HttpChars.EqualsIgnoreCase(method, "connect"u8) : method.SequenceEqual("CONNECT"u8);
        var isOptions = fold ? HttpChars.EqualsIgnoreCase(method, "options"u8) : method.SequenceEqual("OPTIONS"u8);
        if (RequestTarget.Split(target, isConnect, isOptions, out result.Target) is { } bad)
        {
            HttpRejection.Throw(bad, line);
        }
        result.TargetStart = sp1 + 1;
        result.TargetLength = target.Length;

        var version = line[(sp2 + 1)..];
        if (version.Length != 8 || !version.StartsWith("HTTP/"u8) || version[6] != '.'
            || !char.IsAsciiDigit((char)version[5]) || !char.IsAsciiDigit((char)version[7]))
        {
            HttpRejection.Throw(RequestRejectionReason.InvalidHttpVersion, version);
        }
        result.Major = version[5] - '0';
        result.Minor = version[7] - '0';
        if (result.Major != 1 && !_options.PermitUnconventionalHttpVersion)
        {
            HttpRejection.Throw(RequestRejectionReason.UnsupportedHttpVersion, $"({result.Major}, {result.Minor})");
        }
        return result;
    }

    private void FillRequestLine(ReadOnlySpan<byte> line, in RequestLine rl, RequestHead head)
    {
        var method = line[..rl.MethodLength];
        if (_options.CasefoldHttpMethod && method.ContainsAnyInRange((byte)'a', (byte)'z'))
        {
            Span<byte> upper = stackalloc byte[Math.Min(method.Length, 256)];
            if (method.Length <= upper.Length)
            {
                for (var i = 0; i < method.Length; i++)
                {
                    upper[i] = method[i] is >= (byte)'a' and <= (byte)'z' ? (byte)(method[i] - 0x20) : method[i];
                }
                head.Method = KnownStrings.Method(upper[..method.Length]);
            }
            else
            {
                head.Method = KnownStrings.Latin1(method).ToUpperInvariant();
            }
        }
        else
        {
            head.Method = KnownStrings.Method(method);
        }

        var target = line.Slice(rl.TargetStart, rl.TargetLength);
        var raw = KnownStrings.Target(target);
        head.RawTarget = raw;
        var parts = rl.Target;
        head.Path = Substring(raw, parts.Path);
        head.Query = Substring(raw, parts.Query);
        head.Fragment = Substring(raw, parts.Fragment);
        if (parts.HasScheme)
        {
            var scheme = target[parts.Scheme];
            head.Scheme = HttpChars.EqualsIgnoreCase(scheme, "http"u8) ? "http"
                : HttpChars.EqualsIgnoreCase(scheme, "https"u8) ? "https"
                : KnownStrings.Latin1(scheme).ToLowerInvariant();
        }
        if (parts.HasHost)
        {
            head.Host = Substring(raw, parts.Host);
        }
        head.Port = parts.Port < 0 ? null : parts.Port;
        head.VersionMajor = rl.Major;
        head.VersionMinor = rl.Minor;
    }

    private static string Substring(string s, Range r)
    {
        var (offset, length) = r.GetOffsetAndLength(s.Length);
        return length == 0 ? "" : length == s.Length ? s : s.Substring(offset, length);
    }
}
