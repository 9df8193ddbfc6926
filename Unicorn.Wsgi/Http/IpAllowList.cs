using System.Net;

namespace Unicorn.Wsgi.Http;

/// <summary>
/// Gunicorn's address lists (<c>forwarded_allow_ips</c>, <c>proxy_allow_ips</c>): addresses, CIDR networks,
/// or <c>*</c> for everyone. A peer without an IP address (a unix socket) is always allowed, as in Gunicorn.
/// </summary>
public sealed class IpAllowList
{
    private readonly IPNetwork[] _networks;

    private IpAllowList(bool allowAll, IPNetwork[] networks)
    {
        AllowsAll = allowAll;
        _networks = networks;
    }

    public static IpAllowList Loopback { get; } = Parse(["127.0.0.1", "::1"]);

    public bool AllowsAll { get; }

    /// <summary>Parses entries like "10.0.0.0/8", "::1", "*"; a bad entry throws <see cref="FormatException"/>.</summary>
    public static IpAllowList Parse(IEnumerable<string> entries)
    {
        var all = false;
        var networks = new List<IPNetwork>();
        foreach (var raw in entries)
        {
            var e = raw.Trim();
            if (e.Length == 0)
            {
                continue;
            }
            if (e == "*")
            {
                all = true;
                continue;
            }
            if (!e.Contains('/'))
            {
                var address = IPAddress.Parse(e);
                e += address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? "/32" : "/128";
            }
            networks.Add(IPNetwork.Parse(e));
        }
        return new IpAllowList(all, [.. networks]);
    }

    /// <summary>Comma-separated form, as on Gunicorn's command line.</summary>
    public static IpAllowList Parse(string commaSeparated) => Parse(commaSeparated.Split(','));

    /// <summary>True when <paramref name="peer"/> may use the privilege; null means a non-IP peer.</summary>
    public bool Contains(IPAddress? peer)
    {
        if (AllowsAll || peer is null)
        {
            return true;
        }
        if (peer.IsIPv4MappedToIPv6)
        {
            peer = peer.MapToIPv4();
        }
        foreach (var n in _networks)
        {
            if (n.Contains(peer))
            {
                return true;
            }
        }
        return false;
    }
}
