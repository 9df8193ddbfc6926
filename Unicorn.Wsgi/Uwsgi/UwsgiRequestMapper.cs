using System.Globalization;
using System.Net;
using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Uwsgi;

/// <summary>
/// Turns a uwsgi packet into the <see cref="WsgiRequest"/> the app seam takes, by Gunicorn 26.1's reading of
/// the vars (gunicorn/uwsgi/message.py): REQUEST_METHOD, PATH_INFO, QUERY_STRING, HTTPS or wsgi.url_scheme,
/// and headers from HTTP_* (underscores become hyphens), CONTENT_TYPE and CONTENT_LENGTH. Where Gunicorn
/// drops what the front end said, this keeps it, as uWSGI does (docs/differences.md, "uwsgi protocol"): the
/// client's REMOTE_ADDR/REMOTE_PORT, SERVER_NAME/SERVER_PORT, SERVER_PROTOCOL, SCRIPT_NAME, and any other
/// var (REQUEST_URI, DOCUMENT_ROOT...) as an environ key of its own. The peer is trusted to say all this
/// because it passed <c>uwsgi_allow_ips</c>.
/// </summary>
public static class UwsgiRequestMapper
{
    // Vars read into the request itself, not passed on as they are.
    private static readonly HashSet<string> Consumed = new(StringComparer.Ordinal)
    {
        "REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
        "REMOTE_ADDR", "REMOTE_PORT", "CONTENT_TYPE", "CONTENT_LENGTH", "RAW_URI",
    };

    /// <param name="packet">The parsed packet.</param>
    /// <param name="body">Its body, <see cref="UwsgiPacket.ContentLength"/> bytes.</param>
    /// <param name="server">The listener's own address, for a packet without SERVER_NAME or a Host header.</param>
    /// <param name="scheme">The listener's scheme ("https" over TLS).</param>
    /// <param name="peer">The socket's peer (or the PROXY header's client), for a packet without REMOTE_ADDR.</param>
    /// <param name="defaultScriptName">SCRIPT_NAME from the process environment.</param>
    /// <param name="connectionEnviron">Environ keys of the connection (the TLS client certificate), or null.</param>
    public static WsgiRequest Build(UwsgiPacket packet, RequestBody body, (string Name, string Port) server, string scheme,
        IPEndPoint? peer, string defaultScriptName, IReadOnlyList<KeyValuePair<string, string>>? connectionEnviron)
    {
        ArgumentNullException.ThrowIfNull(packet);
        var method = packet.Get("REQUEST_METHOD") is { Length: > 0 } m ? m : "GET";
        var protocol = packet.Get("SERVER_PROTOCOL") is { Length: > 0 } sp ? sp : "HTTP/1.1";
        // Both reach the access log as they are: a peer cannot write a line of its own into it.
        if (!IsToken(method))
        {
            throw UwsgiProtocolException.Invalid("REQUEST_METHOD is not a token");
        }

        if (!protocol.StartsWith("HTTP/", StringComparison.Ordinal) || protocol.Length > 16 || protocol.AsSpan(5).ContainsAnyExcept("0123456789."))
        {
            throw UwsgiProtocolException.Invalid("SERVER_PROTOCOL is not HTTP/n.n");
        }

        var pathInfo = packet.Get("PATH_INFO") is { Length: > 0 } p ? p : "/";
        var query = packet.Get("QUERY_STRING") ?? "";
        var scriptName = packet.Get("SCRIPT_NAME") is { Length: > 0 } s ? s : defaultScriptName;

        // nginx sends PATH_INFO decoded ($document_uri); WsgiRequest.Path is still percent-encoded and the bridge
        // decodes it, so a '%' is escaped here rather than decoded twice (Gunicorn decodes it again).
        var path = pathInfo.Replace("%", "%25", StringComparison.Ordinal);
        if (scriptName.Length > 0 && !path.StartsWith(scriptName, StringComparison.Ordinal))
        {
            // CGI's meaning: PATH_INFO is what follows SCRIPT_NAME.
            path = scriptName + path;
        }

        var headers = new List<KeyValuePair<string, string>>();
        List<KeyValuePair<string, string>>? extra = connectionEnviron is { Count: > 0 } ? [.. connectionEnviron] : null;
        string? host = null;
        var wantsClose = false;
        foreach (var (name, value) in packet.Vars)
        {
            if (name.StartsWith("HTTP_", StringComparison.Ordinal) && name.Length > 5)
            {
                // nginx also passes the client's Content-Type/Length as HTTP_CONTENT_*: the CGI vars say them once
                // (CONTENT_LENGTH frames the body), so these would be second copies in an ASGI scope's headers. And
                // the client's Transfer-Encoding: nginx de-chunked the body, which CONTENT_LENGTH frames; beside it a
                // "chunked" made Werkzeug under tornado's WSGIContainer read no body at all.
                if (name is "HTTP_CONTENT_LENGTH" or "HTTP_TRANSFER_ENCODING"
                    || (name == "HTTP_CONTENT_TYPE" && packet.Get("CONTENT_TYPE") is { Length: > 0 }))
                {
                    continue;
                }

                var header = name[5..].Replace('_', '-');
                headers.Add(new(header, value));
                if (header == "HOST")
                {
                    host = value;
                }
                else if (header == "CONNECTION")
                {
                    wantsClose = value.Equals("close", StringComparison.OrdinalIgnoreCase);
                }
            }
            else if (name == "CONTENT_TYPE" && value.Length > 0)
            {
                headers.Add(new("Content-Type", value));
            }
            else if (name == "CONTENT_LENGTH" && value.Length > 0)
            {
                headers.Add(new("Content-Length", value));
            }
            else if (!Consumed.Contains(name) && !IsServerOwned(name))
            {
                (extra ??= []).Add(new(name, value));
            }
        }

        var remote = Remote(packet, peer, ref extra);
        var urlScheme = Scheme(packet, scheme);
        var (hostName, hostPort) = HostName(host, server, urlScheme);
        return new WsgiRequest
        {
            Method = method,
            RawUri = PrintableUri(packet.Get("REQUEST_URI") is { Length: > 0 } uri ? uri : query.Length > 0 ? $"{pathInfo}?{query}" : pathInfo),
            Path = path,
            Query = query,
            Protocol = protocol,
            VersionMinor = protocol == "HTTP/1.0" ? 0 : 1,
            Headers = headers,
            Body = body,
            UrlScheme = urlScheme,
            RemoteEndPoint = remote,
            ServerName = packet.Get("SERVER_NAME") is { Length: > 0 } serverName ? serverName : hostName,
            ServerPort = packet.Get("SERVER_PORT") is { Length: > 0 } serverPort ? serverPort : hostPort,
            ScriptName = scriptName,
            ExtraEnviron = extra,
            WantsClose = wantsClose,
        };
    }

    private static bool IsToken(string s)
    {
        foreach (var c in s)
        {
            if (c <= ' ' || c >= '\x7f' || "\"(),/:;<=>?@[\\]{}".Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    // RAW_URI goes to the access log: what nginx decoded into PATH_INFO (a space, a %0A) is encoded again,
    // so the URI is one printable word, as a request line carries it.
    private static string PrintableUri(string uri)
    {
        if (!uri.AsSpan().ContainsAnyExceptInRange('\x21', '\x7e'))
        {
            return uri;
        }

        var sb = new System.Text.StringBuilder(uri.Length + 16);
        foreach (var c in uri)
        {
            if (c is > ' ' and < '\x7f')
            {
                sb.Append(c);
            }
            else
            {
                foreach (var b in System.Text.Encoding.Latin1.GetBytes(c.ToString()))
                {
                    sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
                }
            }
        }

        return sb.ToString();
    }

    // Keys the server sets itself (wsgi.input, gunicorn.socket...) are not the front end's to replace.
    private static bool IsServerOwned(string name) =>
        name.StartsWith("wsgi.", StringComparison.Ordinal) || name.StartsWith("gunicorn.", StringComparison.Ordinal)
        || name.StartsWith("unicorn.", StringComparison.Ordinal);

    // Gunicorn: HTTPS on/1/true means https, else a wsgi.url_scheme var, else the listener's.
    private static string Scheme(UwsgiPacket packet, string listenerScheme)
    {
        if (packet.Get("HTTPS") is { } https && (https.Equals("on", StringComparison.OrdinalIgnoreCase) || https == "1"
            || https.Equals("true", StringComparison.OrdinalIgnoreCase)))
        {
            return "https";
        }

        return packet.Get("wsgi.url_scheme") is "http" or "https" ? packet.Get("wsgi.url_scheme")! : listenerScheme;
    }

    private static IPEndPoint? Remote(UwsgiPacket packet, IPEndPoint? peer, ref List<KeyValuePair<string, string>>? extra)
    {
        if (packet.Get("REMOTE_ADDR") is not { Length: > 0 } address)
        {
            return peer;
        }

        if (IPAddress.TryParse(address, out var ip))
        {
            var port = int.TryParse(packet.Get("REMOTE_PORT"), NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p <= IPEndPoint.MaxPort ? p : 0;
            return new IPEndPoint(ip, port);
        }

        // Not an IP address (a unix-socket client of the front end): passed on as it is.
        (extra ??= []).Add(new("REMOTE_ADDR", address));
        if (packet.Get("REMOTE_PORT") is { } remotePort)
        {
            extra.Add(new("REMOTE_PORT", remotePort));
        }

        return peer;
    }

    // The Host header's name and port (the default port of the scheme without one), else the listener's address.
    private static (string Name, string Port) HostName(string? host, (string Name, string Port) server, string scheme)
    {
        if (string.IsNullOrEmpty(host))
        {
            return server;
        }

        var colon = host.LastIndexOf(':');
        if (colon > 0 && host.IndexOf(']', colon) < 0 && (host[0] != '[' || host[colon - 1] == ']'))
        {
            return (host[..colon], host[(colon + 1)..]);
        }

        return (host, scheme == "https" ? "443" : "80");
    }
}
