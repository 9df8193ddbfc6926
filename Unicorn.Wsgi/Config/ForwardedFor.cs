using System.Net;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// uvicorn's reading of <c>X-Forwarded-For</c> for an ASGI scope's client (its ProxyHeadersMiddleware, on under
/// its Gunicorn worker class): the hop nearest the server that is not itself a trusted forwarder; the left-most
/// when every hop is trusted or <c>*</c> trusts everyone; only from a trusted peer (<see cref="Reader"/>).
/// </summary>
public static class ForwardedFor
{
    /// <summary>The client for a request from <c>peer</c> with this header, or null: a peer not in <paramref name="trusted"/> names none.</summary>
    public static Func<IPAddress?, string?, string?> Reader(IpAllowList trusted)
    {
        ArgumentNullException.ThrowIfNull(trusted);
        return (peer, header) => trusted.Contains(peer) ? Client(header, trusted) : null;
    }

    /// <summary>The client named by <paramref name="header"/>, or null when it names none.</summary>
    public static string? Client(string? header, IpAllowList trusted)
    {
        ArgumentNullException.ThrowIfNull(trusted);
        if (header is null)
        {
            return null;
        }

        var hops = header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (hops.Length == 0)
        {
            return null;
        }

        if (!trusted.AllowsAll)
        {
            for (var i = hops.Length - 1; i >= 0; i--)
            {
                if (!IPAddress.TryParse(hops[i], out var hop) || !trusted.Contains(hop))
                {
                    return hops[i];
                }
            }
        }

        return hops[0];
    }
}
