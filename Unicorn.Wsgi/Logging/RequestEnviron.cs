using System.Globalization;
using System.Net;
using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Logging;

/// <summary>
/// The CGI part of a request's environ, rebuilt in C# for the access log (<c>%({var}e)s</c>, <c>%(U)s</c>):
/// REQUEST_METHOD, RAW_URI, PATH_INFO (percent-decoded to latin-1, without SCRIPT_NAME), QUERY_STRING,
/// SERVER_PROTOCOL, SERVER_NAME, SERVER_PORT, SCRIPT_NAME, REMOTE_ADDR, REMOTE_PORT, wsgi.url_scheme,
/// CONTENT_TYPE, CONTENT_LENGTH, HTTP_* (duplicates joined with ","), and the server's extra keys. Keys the
/// app itself adds to environ are not seen (they live in Python).
/// </summary>
internal static class RequestEnviron
{
    public static Dictionary<string, string> Build(WsgiRequest request)
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["REQUEST_METHOD"] = request.Method,
            ["RAW_URI"] = request.RawUri,
            ["PATH_INFO"] = PathInfo(request),
            ["QUERY_STRING"] = request.Query,
            ["SERVER_PROTOCOL"] = request.Protocol,
            ["SERVER_NAME"] = request.ServerName,
            ["SERVER_PORT"] = request.ServerPort,
            ["SCRIPT_NAME"] = ScriptName(request),
            ["REMOTE_ADDR"] = RemoteAddress(request.RemoteEndPoint),
            ["wsgi.url_scheme"] = request.UrlScheme,
        };
        if (request.RemoteEndPoint is { } peer)
        {
            map["REMOTE_PORT"] = peer.Port.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var (name, value) in request.Headers)
        {
            var key = name.ToUpperInvariant().Replace('-', '_');
            if (key is not ("CONTENT_TYPE" or "CONTENT_LENGTH"))
            {
                key = "HTTP_" + key;
            }

            map[key] = map.TryGetValue(key, out var existing) ? existing + "," + value : value;
        }

        foreach (var (name, value) in request.ExtraEnviron ?? [])
        {
            map[name] = value;
        }

        return map;
    }

    /// <summary>REMOTE_ADDR as Gunicorn sets it: the peer's IP, or "" for a unix-socket peer.</summary>
    public static string RemoteAddress(IPEndPoint? peer) => peer?.Address.ToString() ?? "";

    /// <summary>PATH_INFO as the app sees it (<see cref="CgiPath"/>).</summary>
    public static string PathInfo(WsgiRequest request) =>
        CgiPath.PercentDecode(CgiPath.RawPathInfo(request.Path, ScriptName(request)).ToString());

    /// <summary>SCRIPT_NAME as the app sees it (<see cref="CgiPath"/>).</summary>
    public static string ScriptName(WsgiRequest request) => CgiPath.ScriptName(request, CgiPath.EnvironmentScriptName);
}
