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
    public static Func<string, string?> Lookup(WsgiRequest request)
    {
        Dictionary<string, string>? map = null;
        return name =>
        {
            map ??= Build(request);
            return map.GetValueOrDefault(name);
        };
    }

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
            ["SCRIPT_NAME"] = request.ScriptName,
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

    /// <summary>PATH_INFO: the raw path without SCRIPT_NAME, percent-decoded byte by byte to latin-1.</summary>
    public static string PathInfo(WsgiRequest request)
    {
        var path = request.Path;
        if (request.ScriptName.Length > 0)
        {
            var at = path.IndexOf(request.ScriptName, StringComparison.Ordinal);
            path = at >= 0 ? path[(at + request.ScriptName.Length)..] : path;
        }

        return Unquote(path);
    }

    public static string Unquote(string text)
    {
        if (!text.Contains('%', StringComparison.Ordinal))
        {
            return text;
        }

        var output = new System.Text.StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '%' && i + 2 < text.Length && IsHex(text[i + 1]) && IsHex(text[i + 2]))
            {
                output.Append((char)int.Parse(text.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                i += 2;
            }
            else
            {
                output.Append(text[i]);
            }
        }

        return output.ToString();
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);
}
