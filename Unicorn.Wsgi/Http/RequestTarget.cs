using System.Net;
using System.Net.Sockets;

namespace Unicorn.Wsgi.Http;

/// <summary>
/// Checks a request-target against the method (RFC 9112 §3.2) and splits it the way Gunicorn does, all on
/// the wire bytes. Path, query and fragment follow urllib's urlsplit (which Gunicorn's PATH_INFO comes
/// from), except that an origin-form target starting with "//" keeps its slashes; scheme, host and port
/// come from a strict reading of absolute-form and authority-form.
/// Stricter than Gunicorn: control bytes anywhere, a scheme not followed by "://", CONNECT without
/// host:port, a non-numeric or out-of-range port, an empty or non-ASCII authority are all refused.
/// </summary>
internal static class RequestTarget
{
    internal struct Parts
    {
        public Range Path;
        public Range Query;
        public Range Fragment;
        public Range Scheme;
        public Range Host;
        public bool HasScheme;
        public bool HasHost;
        public int Port;    // -1 when absent
    }

    /// <summary>Validates <paramref name="t"/>; on failure returns the reason, on success fills parts.</summary>
    public static RequestRejectionReason? Split(ReadOnlySpan<byte> t, bool isConnect, bool isOptions, out Parts parts)
    {
        parts = default;
        parts.Port = -1;
        if (t.IsEmpty)
        {
            return RequestRejectionReason.EmptyRequestTarget;
        }
        if (t.ContainsAny(HttpChars.Controls))
        {
            return RequestRejectionReason.InvalidRequestTarget;
        }

        if (t.Length == 1 && t[0] == '*')
        {
            if (!isOptions)
            {
                return RequestRejectionReason.AsteriskFormWithoutOptions;
            }
        }
        else if (isConnect)
        {
            // authority-form only: host ":" port, nothing else.
            if (!TryAuthority(t, requirePort: true, ref parts))
            {
                return RequestRejectionReason.InvalidRequestTarget;
            }
        }
        else if (t[0] != '/')
        {
            var colon = t.IndexOf((byte)':');
            if (colon <= 0 || !IsScheme(t[..colon]) || !t[(colon + 1)..].StartsWith("//"u8))
            {
                return RequestRejectionReason.AuthorityFormWithoutConnect;
            }
            var rest = t[(colon + 3)..];
            var end = rest.IndexOfAny("/?#"u8);
            var authority = end < 0 ? rest : rest[..end];
            if (authority.IsEmpty || !TryAuthority(authority, requirePort: false, ref parts))
            {
                return RequestRejectionReason.InvalidRequestTarget;
            }
            parts.HasScheme = true;
            parts.Scheme = new Range(0, colon);
            var offset = colon + 3;
            parts.Host = new Range(parts.Host.Start.Value + offset, parts.Host.End.Value + offset);
        }

        UrlSplit(t, ref parts);
        return null;
    }

    // urllib.parse.urlsplit's path/query/fragment, with Gunicorn's "//" rule for origin-form.
    private static void UrlSplit(ReadOnlySpan<byte> t, ref Parts parts)
    {
        var start = 0;
        if (!t.StartsWith("//"u8))
        {
            var colon = t.IndexOf((byte)':');
            if (colon > 0 && char.IsAsciiLetter((char)t[0]) && IsScheme(t[..colon]))
            {
                start = colon + 1;
            }
            if (t[start..].StartsWith("//"u8))
            {
                var end = t[(start + 2)..].IndexOfAny("/?#"u8);
                start = end < 0 ? t.Length : start + 2 + end;
            }
        }
        var stop = t.Length;
        var hash = t[start..].IndexOf((byte)'#');
        if (hash >= 0)
        {
            parts.Fragment = new Range(start + hash + 1, stop);
            stop = start + hash;
        }
        else
        {
            parts.Fragment = new Range(stop, stop);
        }
        var question = t[start..stop].IndexOf((byte)'?');
        if (question >= 0)
        {
            parts.Query = new Range(start + question + 1, stop);
            stop = start + question;
        }
        else
        {
            parts.Query = new Range(stop, stop);
        }
        parts.Path = new Range(start, stop);
    }

    private static bool IsScheme(ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty || !char.IsAsciiLetter((char)s[0]))
        {
            return false;
        }
        foreach (var c in s)
        {
            if (!char.IsAsciiLetterOrDigit((char)c) && c != '+' && c != '-' && c != '.')
            {
                return false;
            }
        }
        return true;
    }

    // [userinfo "@"] host [":" port]; sets parts.Host (relative to a) and parts.Port.
    private static bool TryAuthority(ReadOnlySpan<byte> a, bool requirePort, ref Parts parts)
    {
        if (a.ContainsAnyExceptInRange((byte)0x21, (byte)0x7e))
        {
            return false;
        }
        var hostStart = a.LastIndexOf((byte)'@') + 1;
        if (requirePort && hostStart > 0)
        {
            return false;
        }
        var hostPort = a[hostStart..];
        int hostLength;
        ReadOnlySpan<byte> port;
        if (hostPort.Length > 0 && hostPort[0] == '[')
        {
            var close = hostPort.IndexOf((byte)']');
            if (close < 0 || !IsIPv6(hostPort[1..close]))
            {
                return false;
            }
            hostLength = close + 1;
            var after = hostPort[hostLength..];
            if (after.IsEmpty)
            {
                port = default;
            }
            else if (after[0] == ':')
            {
                port = after[1..];
            }
            else
            {
                return false;
            }
        }
        else
        {
            if (hostPort.ContainsAny("[]"u8))
            {
                return false;
            }
            var colon = hostPort.LastIndexOf((byte)':');
            hostLength = colon < 0 ? hostPort.Length : colon;
            port = colon < 0 ? default : hostPort[(colon + 1)..];
            if (hostPort[..hostLength].ContainsAny(":/?#@"u8))
            {
                return false;
            }
        }
        if (hostLength == 0 || hostPort[..hostLength].IndexOfAny("/?#"u8) >= 0)
        {
            return false;
        }
        if (!port.IsEmpty)
        {
            if (port.Length > 5 || port.ContainsAnyExceptInRange((byte)'0', (byte)'9'))
            {
                return false;
            }
            var p = 0;
            foreach (var d in port)
            {
                p = p * 10 + (d - '0');
            }
            if (p > 65535)
            {
                return false;
            }
            parts.Port = p;
        }
        else if (requirePort)
        {
            return false;
        }
        parts.HasHost = true;
        parts.Host = new Range(hostStart, hostStart + hostLength);
        return true;
    }

    private static bool IsIPv6(ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty || s.Length > 64)
        {
            return false;
        }
        Span<char> chars = stackalloc char[s.Length];
        for (var i = 0; i < s.Length; i++)
        {
            chars[i] = (char)s[i];
        }
        return IPAddress.TryParse(chars, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6;
    }
}
