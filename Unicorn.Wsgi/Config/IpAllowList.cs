using System.Net;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// Gunicorn's address lists (<c>forwarded_allow_ips</c>, <c>proxy_allow_ips</c>): addresses, CIDR networks,
/// or <c>*</c> for everyone. A peer without an IP address (a unix socket) is always allowed, as in Gunicorn.
/// </summary>
public sealed class IpAllowList : IPlainValue
{
    private readonly IPNetwork[] _networks;

    private IpAllowList(bool allowAll, IPNetwork[] networks, IReadOnlyList<string> entries)
    {
        AllowsAll = allowAll;
        _networks = networks;
        Entries = entries;
    }

    public static IpAllowList Loopback { get; } = Parse(["127.0.0.1", "::1"]);

    public bool AllowsAll { get; }

    /// <summary>The entries as written (trimmed, blanks dropped), as Gunicorn keeps the setting.</summary>
    public IReadOnlyList<string> Entries { get; }

    object? IPlainValue.Plain => Entries;

    /// <summary>
    /// Parses entries like "10.0.0.0/8", "::1", "*" by Python's strict <c>ip_network</c> rule (no host bits set);
    /// a bad entry throws <see cref="FormatException"/> saying which.
    /// </summary>
    public static IpAllowList Parse(IEnumerable<string> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var all = false;
        var networks = new List<IPNetwork>();
        var kept = new List<string>();
        foreach (var raw in entries)
        {
            var e = raw.Trim();
            if (e.Length == 0)
            {
                continue;
            }

            kept.Add(e);
            if (e == "*")
            {
                all = true;
                continue;
            }

            if (IpNetwork.Problem(e) is { } problem)
            {
                throw new FormatException(problem);
            }

            if (!e.Contains('/', StringComparison.Ordinal))
            {
                var address = IPAddress.Parse(e);
                e += address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? "/32" : "/128";
            }

            networks.Add(IPNetwork.Parse(e));
        }

        return new IpAllowList(all, [.. networks], kept);
    }

    /// <summary>Comma-separated form, as on Gunicorn's command line.</summary>
    public static IpAllowList Parse(string commaSeparated) => Parse((commaSeparated ?? throw new ArgumentNullException(nameof(commaSeparated))).Split(','));

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
