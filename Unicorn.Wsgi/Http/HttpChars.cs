using System.Buffers;

namespace Unicorn.Wsgi.Http;

/// <summary>Byte classes from RFC 9110 used by the parser and the response writer.</summary>
internal static class HttpChars
{
    /// <summary>tchar: ALPHA / DIGIT / "!#$%&amp;'*+-.^_`|~".</summary>
    public static readonly SearchValues<byte> Token =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>Control bytes a field value may not hold: everything below SP except HTAB, and DEL.</summary>
    public static readonly SearchValues<byte> ValueForbidden = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Where(b => b != '\t').Select(b => (byte)b), 0x7f]);

    /// <summary>All C0 controls and DEL: never valid in a request-target.</summary>
    public static readonly SearchValues<byte> Controls = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(b => (byte)b), 0x7f]);

    public static readonly SearchValues<byte> Hex = SearchValues.Create("0123456789abcdefABCDEF"u8);

    public static bool IsToken(ReadOnlySpan<byte> s) => s.Length > 0 && !s.ContainsAnyExcept(Token);

    public static bool IsToken(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty)
        {
            return false;
        }
        foreach (var c in s)
        {
            if (c > 0x7f || !Token.Contains((byte)c))
            {
                return false;
            }
        }
        return true;
    }

    public static ReadOnlySpan<byte> TrimSpTab(ReadOnlySpan<byte> s)
    {
        var start = 0;
        while (start < s.Length && (s[start] == ' ' || s[start] == '\t'))
        {
            start++;
        }
        var end = s.Length;
        while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t'))
        {
            end--;
        }
        return s[start..end];
    }

    public static ReadOnlySpan<byte> TrimEndSpTab(ReadOnlySpan<byte> s)
    {
        var end = s.Length;
        while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t'))
        {
            end--;
        }
        return s[..end];
    }

    /// <summary>ASCII case-insensitive comparison of wire bytes with a lower-case ASCII literal.</summary>
    public static bool EqualsIgnoreCase(ReadOnlySpan<byte> s, ReadOnlySpan<byte> lowerLiteral)
    {
        if (s.Length != lowerLiteral.Length)
        {
            return false;
        }
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c is >= (byte)'A' and <= (byte)'Z')
            {
                c |= 0x20;
            }
            if (c != lowerLiteral[i])
            {
                return false;
            }
        }
        return true;
    }
}
