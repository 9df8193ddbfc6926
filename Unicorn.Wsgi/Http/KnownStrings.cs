namespace Unicorn.Wsgi.Http;

/// <summary>
/// Cached strings for the methods, header names and versions most requests use, so parsing them allocates
/// nothing. Matches are exact (case-sensitive): names keep the client's spelling.
/// </summary>
internal static class KnownStrings
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "HEAD", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"];

    private static readonly string[] HeaderNames =
    [
        "Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Connection", "Content-Length",
        "Content-Type", "Cookie", "Referer", "Cache-Control", "Upgrade-Insecure-Requests", "Origin", "Authorization",
        "If-None-Match", "If-Modified-Since", "Pragma", "Transfer-Encoding", "X-Forwarded-For", "X-Forwarded-Proto",
        "X-Forwarded-Host", "X-Real-IP", "X-Request-ID", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-Dest",
        "Expect", "Range", "DNT", "TE", "Keep-Alive", "Forwarded",
        "host", "user-agent", "accept", "accept-encoding", "accept-language", "connection", "content-length",
        "content-type", "cookie", "referer", "cache-control", "origin", "authorization", "x-forwarded-for",
        "x-forwarded-proto", "x-real-ip", "x-request-id", "transfer-encoding",
    ];

    private static readonly string[] Values = ["keep-alive", "close", "*/*", "chunked", "gzip, deflate", "gzip, deflate, br", "localhost", "1", "0"];

    public static string Method(ReadOnlySpan<byte> s) => Find(Methods, s) ?? Latin1(s);

    public static string HeaderName(ReadOnlySpan<byte> s) => Find(HeaderNames, s) ?? Latin1(s);

    public static string HeaderValue(ReadOnlySpan<byte> s) => s.IsEmpty ? "" : Find(Values, s) ?? Latin1(s);

    public static string Target(ReadOnlySpan<byte> s) => s.Length == 1 && s[0] == '/' ? "/" : Latin1(s);

    public static string Latin1(ReadOnlySpan<byte> s) => s.IsEmpty ? "" : System.Text.Encoding.Latin1.GetString(s);

    private static string? Find(string[] table, ReadOnlySpan<byte> s)
    {
        foreach (var candidate in table)
        {
            if (candidate.Length == s.Length && Matches(candidate, s))
            {
                return candidate;
            }
        }
        return null;
    }

    private static bool Matches(string candidate, ReadOnlySpan<byte> s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (candidate[i] != s[i])
            {
                return false;
            }
        }
        return true;
    }
}
