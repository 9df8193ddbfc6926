using System.Text;

namespace Unicorn.Wsgi.Http;

/// <summary>
/// The response Gunicorn writes when it refuses a request: a status line, <c>Connection: close</c>, and a
/// small HTML page naming the problem. The detail is HTML-escaped and control characters are dropped, so
/// nothing the client sent is reflected as markup or as a header.
/// </summary>
public static class ErrorResponse
{
    public static byte[] Build(int status, string reason, string? detail)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(status, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(status, 999);
        var body = BuildBody(reason, detail);
        var head = $"HTTP/1.1 {status} {HeaderText(reason)}\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: {body.Length}\r\n\r\n";
        var bytes = new byte[head.Length + body.Length];
        Encoding.Latin1.GetBytes(head, bytes);
        body.CopyTo(bytes, head.Length);
        return bytes;
    }

    /// <summary>The HTML page alone, for a protocol that frames the status and headers itself (HTTP/2).</summary>
    public static byte[] BuildBody(string reason, string? detail)
    {
        var safeReason = HtmlText(reason);
        var html = new StringBuilder()
            .Append("<html>\n  <head>\n    <title>").Append(safeReason).Append("</title>\n  </head>\n")
            .Append("  <body>\n    <h1><p>").Append(safeReason).Append("</p></h1>\n    ")
            .Append(HtmlText(detail ?? "")).Append("\n  </body>\n</html>\n")
            .ToString();
        return Encoding.Latin1.GetBytes(html);
    }

    // One line of printable latin-1, HTML-escaped as Python's html.escape does it (Gunicorn's page, byte for
    // byte): & < > " and ' only, the quote as &#x27;. WebUtility.HtmlEncode wrote &#39; and escaped 0xA0-0xFF.
    private static string HtmlText(string s)
    {
        var printable = Printable(s);
        var sb = new StringBuilder(printable.Length + 16);
        foreach (var c in printable)
        {
            _ = c switch
            {
                '&' => sb.Append("&amp;"),
                '<' => sb.Append("&lt;"),
                '>' => sb.Append("&gt;"),
                '"' => sb.Append("&quot;"),
                '\'' => sb.Append("&#x27;"),
                _ => sb.Append(c),
            };
        }

        return sb.ToString();
    }

    private static string HeaderText(string s) => Printable(s);

    private static string Printable(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            if (c is >= ' ' and not (>= '\x7f' and <= '\xa0') and <= '\xff')
            {
                sb.Append(c);
            }
            else if (c == '\t')
            {
                sb.Append(' ');
            }
        }
        return sb.ToString();
    }
}
