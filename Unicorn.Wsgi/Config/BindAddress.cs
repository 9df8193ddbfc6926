using System.Globalization;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// The address syntax of <c>bind</c>, as Gunicorn reads it: <c>HOST</c>, <c>HOST:PORT</c>, <c>[IPV6]:PORT</c>,
/// <c>tcp://...</c>, <c>unix:PATH</c>, <c>unix://PATH</c>, <c>fd://N</c>. Unicorn checks it when settings resolve
/// rather than when binding.
/// </summary>
public static class BindAddress
{
    /// <summary>Null when <paramref name="address"/> is well formed, otherwise why it is not.</summary>
    public static string? Validate(string address)
    {
        if (address.StartsWith("unix:", StringComparison.Ordinal))
        {
            var path = address.StartsWith("unix://", StringComparison.Ordinal) ? address[7..] : address[5..];
            return path.Length == 0 ? $"'{address}' has no socket path" : null;
        }

        if (address.StartsWith("fd://", StringComparison.Ordinal))
        {
            return int.TryParse(address[5..], NumberStyles.None, CultureInfo.InvariantCulture, out _) ? null : $"'{address[5..]}' is not a valid file descriptor.";
        }

        var netloc = address.StartsWith("tcp://", StringComparison.Ordinal) ? address[6..] : address;
        string host;
        string? port;
        if (netloc.StartsWith('['))
        {
            var close = netloc.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return $"'{address}' has an unclosed '['";
            }

            host = netloc[1..close];
            var rest = netloc[(close + 1)..];
            if (rest.Length > 0 && rest[0] != ':')
            {
                return $"'{address}' is not a valid address";
            }

            port = rest.Length > 0 ? rest[1..] : null;
            if (!host.Contains(':', StringComparison.Ordinal) || !IpNetwork.IsPlainAddress(host, out _))
            {
                return $"'{host}' is not a valid IPv6 address";
            }
        }
        else
        {
            var colon = netloc.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0 && netloc.IndexOf(':', colon + 1) >= 0)
            {
                return $"'{address}' is not a valid address (write IPv6 addresses as [ADDRESS]:PORT)";
            }

            host = colon < 0 ? netloc : netloc[..colon];
            port = colon < 0 ? null : netloc[(colon + 1)..];
            if (host.Length > 0 && !IsHostName(host))
            {
                return $"'{host}' is not a valid host name";
            }
        }

        if (port is not null && (port.Length == 0 || !port.All(char.IsAsciiDigit)
            || !int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 65535))
        {
            return $"'{port}' is not a valid port number.";
        }

        return null;
    }

    private static bool IsHostName(string host) =>
        host.Length <= 253 && host.Split('.').All(label => label.Length is > 0 and <= 63
            && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'));
}
