using System.Net;
using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Http;

/// <summary>
/// uvicorn's reading of <c>X-Forwarded-For</c> for an ASGI scope's client (its ProxyHeadersMiddleware, on under
/// its Gunicorn worker class): the hop nearest the server that is not itself a trusted forwarder; the left-most
/// when every hop is trusted or <c>*</c> trusts everyone. The caller checks that the peer is trusted first.
/// </summary>
public static class ForwardedFor
{
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
