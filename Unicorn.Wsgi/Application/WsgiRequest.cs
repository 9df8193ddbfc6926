using System.Net;

namespace Unicorn.Wsgi.Application;

/// <summary>
/// One parsed request as the app seam sees it. Strings are latin-1 decodings of the wire bytes (one char
/// per byte), so the bridge can hand them to Python without another decode.
/// </summary>
public sealed class WsgiRequest
{
    /// <summary>Set by an HTTP/1 connection: lets an ASGI host take the connection over after a websocket accept.</summary>
    public IConnectionUpgrade? Upgrade { get; set; }

    /// <summary>Set by an HTTP/1 or uwsgi connection: lets a host learn that the client went away while the app waits.</summary>
    public IClientConnection? ClientConnection { get; set; }

    public required string Method { get; init; }

    /// <summary>The request-target exactly as sent (RAW_URI).</summary>
    public required string RawUri { get; init; }

    /// <summary>The path of the target, still percent-encoded.</summary>
    public required string Path { get; init; }

    /// <summary>The query string without '?', or empty.</summary>
    public required string Query { get; init; }

    /// <summary>"HTTP/1.1" or "HTTP/1.0".</summary>
    public required string Protocol { get; init; }

    public required int VersionMinor { get; init; }

    /// <summary>Header fields in arrival order, names as sent (not case-folded).</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; }

    /// <summary>The body; <see cref="RequestBody.Empty"/> when there is none.</summary>
    public required RequestBody Body { get; init; }

    /// <summary>"http" or "https" (after trusted forwarded headers are applied).</summary>
    public string UrlScheme { get; init; } = "http";

    /// <summary>The remote peer; null for a unix-socket peer.</summary>
    public IPEndPoint? RemoteEndPoint { get; init; }

    /// <summary>SERVER_NAME / SERVER_PORT: the TCP listener's address; on a unix socket the Host header, else its path.</summary>
    public required string ServerName { get; init; }

    public required string ServerPort { get; init; }

    /// <summary>SCRIPT_NAME (from the environment or a trusted header); PATH_INFO is Path without it.</summary>
    public string ScriptName { get; init; } = "";

    /// <summary>Extra environ keys the server adds (e.g. TLS client certificate, PROXY protocol data).</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? ExtraEnviron { get; init; }

    /// <summary>True when the request asked for the connection to be closed after the response.</summary>
    public bool WantsClose { get; init; }

    /// <summary>Set when a <c>pre_request</c> hook rewrote this request: what the app saw, which the access line shows.</summary>
    public WsgiRequest? RewrittenAs { get; set; }

    /// <summary>
    /// This request as a <c>pre_request</c> hook rewrote it (Gunicorn builds the environ from its <c>req</c> after that
    /// hook): the same body, peer and listener, with the method, target and header fields the hook left.
    /// </summary>
    public WsgiRequest Rewrite(string method, string rawUri, string path, string query, IReadOnlyList<KeyValuePair<string, string>> headers) => new()
    {
        Upgrade = Upgrade,
        ClientConnection = ClientConnection,
        Method = method,
        RawUri = rawUri,
        Path = path,
        Query = query,
        Protocol = Protocol,
        VersionMinor = VersionMinor,
        Headers = headers,
        Body = Body,
        UrlScheme = UrlScheme,
        RemoteEndPoint = RemoteEndPoint,
        ServerName = ServerName,
        ServerPort = ServerPort,
        ScriptName = ScriptName,
        ExtraEnviron = ExtraEnviron,
        WantsClose = WantsClose,
    };
}
