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
        var scriptName = head.ScriptName ?? options.ScriptName;
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
            ExtraEnviron = extraEnviron,
        };
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
