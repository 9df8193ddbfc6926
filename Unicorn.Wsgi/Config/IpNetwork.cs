using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Unicorn.Wsgi.Config;

/// <summary>Python's strict <c>ipaddress.ip_network</c> check: an address, or an address/prefix with no host bits set.</summary>
internal static class IpNetwork
{
    /// <summary>Null when <paramref name="text"/> is a network; otherwise why not, in Python's words.</summary>
    public static string? Problem(string text)
    {
        var notANetwork = $"'{text}' does not appear to be an IPv4 or IPv6 network";
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];
        if (!IsPlainAddress(addressText, out var address))
        {
            return notANetwork;
        }

        var bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (slash < 0)
        {
            return null;
        }

        var prefixText = text[(slash + 1)..];
        if (prefixText.Length == 0 || !prefixText.All(char.IsAsciiDigit)
            || !int.TryParse(prefixText, NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) || prefix > bits)
        {
            return notANetwork;
        }

        var bytes = address.GetAddressBytes();
        for (var bit = prefix; bit < bits; bit++)
        {
            if ((bytes[bit / 8] & (0x80 >> (bit % 8))) != 0)
            {
                return $"{text} has host bits set";
            }
        }

        return null;
    }

    /// <summary>A dotted-quad IPv4 or an IPv6 address, without .NET's leniencies (shortened IPv4, zone ids, brackets).</summary>
    public static bool IsPlainAddress(string text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.Length == 0 || text.Contains('%', StringComparison.Ordinal) || text.Contains('[', StringComparison.Ordinal))
        {
            return false;
        }

        if (!text.Contains(':', StringComparison.Ordinal))
        {
            var parts = text.Split('.');
            if (parts.Length != 4 || parts.Any(p => p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit) || (p.Length > 1 && p[0] == '0') || int.Parse(p, CultureInfo.InvariantCulture) > 255))
            {
                return false;
            }
        }

        return IPAddress.TryParse(text, out address!);
    }
}
