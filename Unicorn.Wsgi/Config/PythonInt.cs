using System.Globalization;

namespace Unicorn.Wsgi.Config;

/// <summary>Python's <c>int(text)</c> and <c>int(text, 0)</c>, the two integer syntaxes Gunicorn's settings accept.</summary>
internal static class PythonInt
{
    /// <summary>Parses like <c>int(text)</c> (<paramref name="autoBase"/> false) or <c>int(text, 0)</c> (true).</summary>
    public static bool TryParse(string text, bool autoBase, out long value)
    {
        value = 0;
        var s = text.Trim();
        var negative = false;
        if (s.Length > 0 && (s[0] == '+' || s[0] == '-'))
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        var radix = 10;
        if (autoBase && s.Length > 1 && s[0] == '0')
        {
            switch (char.ToLowerInvariant(s[1]))
            {
                case 'x': radix = 16; s = s[2..]; break;
                case 'o': radix = 8; s = s[2..]; break;
                case 'b': radix = 2; s = s[2..]; break;
                default:
                    // int("010", 0) is an error in Python 3; only zeros may lead.
                    if (s.Replace("_", "", StringComparison.Ordinal).Any(c => c != '0'))
                    {
                        return false;
                    }

                    break;
            }

            // After a prefix Python allows one underscore before the first digit: 0x_ff.
            if (radix != 10 && s.StartsWith('_'))
            {
                s = s[1..];
            }
        }

        if (s.Length == 0 || s[0] == '_' || s[^1] == '_' || s.Contains("__", StringComparison.Ordinal))
        {
            return false;
        }

        long acc = 0;
        foreach (var c in s)
        {
            if (c == '_')
            {
                continue;
            }

            var digit = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'z' => c - 'a' + 10,
                >= 'A' and <= 'Z' => c - 'A' + 10,
                _ => 99,
            };
            if (digit >= radix)
            {
                return false;
            }

            try
            {
                acc = checked((acc * radix) + digit);
            }
            catch (OverflowException)
            {
                return false;
            }
        }

        value = negative ? -acc : acc;
        return true;
    }

    /// <summary>Gunicorn's <c>auto_int</c>: a leading 0 followed by a digit means octal (<c>022</c>), then <c>int(x, 0)</c>.</summary>
    public static bool TryParseAuto(string text, out long value)
    {
        var s = text;
        if (s.Length > 1 && s[0] == '0' && char.IsAsciiDigit(s[1]))
        {
            s = "0o" + s[1..];
        }

        return TryParse(s, autoBase: true, out value);
    }

    public static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);
}
