using System.Net;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Workers;

/// <summary>Turns a parsed head into the <see cref="WsgiRequest"/> the app seam takes.</summary>
internal sealed class RequestFactory(WorkerOptions options)
{
    public WsgiRequest Build(RequestHead head, RequestBody body, ListenerInfo listener, IPEndPoint? remote, ProxyInfo? proxy, IReadOnlyList<KeyValuePair<string, string>>? extraEnviron = null)
    {
        var scriptName = (options.ScriptNameHeader ? head.ScriptName : null) ?? options.ScriptName;
        if (scriptName.Length > 0 && !head.Path.StartsWith(scriptName, StringComparison.Ordinal))
        {
            // Gunicorn 26.1's ConfigurationProblem: an app mounted at SCRIPT_NAME cannot be given this path.
            throw HttpRejection.Create(RequestRejectionReason.PathOutsideScriptName,
                $"Request path {HttpRejection.Repr(head.Path)} does not start with SCRIPT_NAME {HttpRejection.Repr(scriptName)}");
        }

        var headers = head.Headers.ToArray();
        var (serverName, serverPort) = ServerAddress(head, listener);
        var client = proxy is { ClientAddress: { } address, ClientPort: { } port } && IPAddress.TryParse(address, out var ip)
            ? new IPEndPoint(ip, port)
            : remote;
        return new WsgiRequest
        {
            Method = head.Method,
            RawUri = head.RawTarget,
            Path = head.Path,
            Query = head.Query,
            Protocol = head.Protocol,
            VersionMinor = head.VersionMinor,
            Headers = headers,
            Body = body,
            UrlScheme = head.ForwardedScheme ?? listener.Scheme,
            RemoteEndPoint = client,
            ServerName = serverName,
            ServerPort = serverPort,
            ScriptName = scriptName,
            WantsClose = !head.KeepAlive,
            ExtraEnviron = proxy is null ? extraEnviron : WithProxy(extraEnviron, proxy),
        };
    }

    // Gunicorn 26.1's proxy_environ: what the PROXY header said, beside the REMOTE_ADDR/PORT taken from it. A v2
    // LOCAL or UNSPEC header names no addresses, so only its protocol is added (Gunicorn sets None there).
    private static List<KeyValuePair<string, string>> WithProxy(IReadOnlyList<KeyValuePair<string, string>>? extra, ProxyInfo proxy)
    {
        var environ = new List<KeyValuePair<string, string>>((extra?.Count ?? 0) + 3);
        if (extra is not null)
        {
            environ.AddRange(extra);
        }

        environ.Add(new("PROXY_PROTOCOL", proxy.Protocol));
        if (proxy is { ProxyAddress: { } address, ProxyPort: { } port })
        {
            environ.Add(new("PROXY_ADDR", address));
            environ.Add(new("PROXY_PORT", port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        return environ;
    }

    // Gunicorn: a TCP listener's own address (what it is bound to, whatever Host says); on a unix socket,
    // which has no host or port, the Host header (port 80/443 when it names none), else the socket's path.
    private static (string Name, string Port) ServerAddress(RequestHead head, ListenerInfo listener)
    {
        var host = listener.IsUnix ? head.GetHeader("Host") : null;

        if (string.IsNullOrEmpty(host))
        {
            return (listener.ServerName, listener.ServerPort);
        }

        var defaultPort = listener.Scheme == "https" ? "443" : "80";
        var colon = host.LastIndexOf(':');
        if (colon > 0 && host.IndexOf(']', colon) < 0 && (host[0] != '[' || host[colon - 1] == ']'))
        {
            return (host[..colon], host[(colon + 1)..]);
        }

        return (host, defaultPort);
    }
}
