namespace Unicorn.Wsgi.Application;

/// <summary>
/// SCRIPT_NAME and PATH_INFO by Gunicorn's rule (gunicorn/http/wsgi.py, <c>create</c>), in one place for the
/// bridge's environ and the access log: SCRIPT_NAME is the request's (a trusted header) or else the process
/// environment's; PATH_INFO is the raw path with SCRIPT_NAME stripped as a prefix (Gunicorn 26.1; 20.1 cut at
/// its first occurrence anywhere), percent-decoded byte by byte to latin-1.
/// </summary>
public static class CgiPath
{
    /// <summary>SCRIPT_NAME from this process's environment, as .NET read it at startup.</summary>
    public static string EnvironmentScriptName { get; } = Environment.GetEnvironmentVariable("SCRIPT_NAME") ?? "";

    /// <summary>The request's SCRIPT_NAME, else <paramref name="defaultScriptName"/> (the process environment's).</summary>
    public static string ScriptName(WsgiRequest request, string defaultScriptName)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.ScriptName.Length > 0 ? request.ScriptName : defaultScriptName;
    }

    /// <summary>
    /// The raw (still percent-encoded) PATH_INFO: <paramref name="path"/> without its <paramref name="scriptName"/>
    /// prefix. A path that does not start with it was answered 500 before the app ran (RequestFactory, as
    /// Gunicorn 26.1), unless the app changed os.environ's SCRIPT_NAME itself: then the whole path.
    /// </summary>
    public static ReadOnlySpan<char> RawPathInfo(ReadOnlySpan<char> path, ReadOnlySpan<char> scriptName)
    {
        if (scriptName.IsEmpty)
        {
            return path;
        }

        return path.StartsWith(scriptName, StringComparison.Ordinal) ? path[scriptName.Length..] : path;
    }

    /// <summary>
    /// Gunicorn's <c>unquote_to_wsgi_str</c>: each %XX becomes the char of that byte (latin-1); a '%' not followed
    /// by two hex digits stays. Writes into <paramref name="output"/> (at least as long as the input) and returns
    /// the length written.
    /// </summary>
    public static int PercentDecode(ReadOnlySpan<char> text, Span<char> output)
    {
        var n = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '%' && i + 2 < text.Length && char.IsAsciiHexDigit(text[i + 1]) && char.IsAsciiHexDigit(text[i + 2]))
            {
                output[n++] = (char)((HexValue(text[i + 1]) << 4) | HexValue(text[i + 2]));
                i += 2;
            }
            else
            {
                output[n++] = c;
            }
        }

        return n;
    }

    /// <summary><see cref="PercentDecode(ReadOnlySpan{char}, Span{char})"/> to a string.</summary>
    public static string PercentDecode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Contains('%', StringComparison.Ordinal))
        {
            return text;
        }

        var output = new char[text.Length];
        return new string(output, 0, PercentDecode(text, output));
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
