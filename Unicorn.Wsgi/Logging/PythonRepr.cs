using System.Globalization;
using System.Text;

namespace Unicorn.Wsgi.Logging;

/// <summary>Python's <c>repr()</c> (and <c>ascii()</c>) of a str, for the <c>%(x)r</c> conversion.</summary>
internal static class PythonRepr
{
    public static string Of(string text, bool asciiOnly = false)
    {
        var quote = text.Contains('\'', StringComparison.Ordinal) && !text.Contains('"', StringComparison.Ordinal) ? '"' : '\'';
        var builder = new StringBuilder(text.Length + 2).Append(quote);
        foreach (var rune in text.EnumerateRunes())
        {
            var v = rune.Value;
            if (v == quote || v == '\\')
            {
                builder.Append('\\').Append((char)v);
            }
            else if (v == '\t')
            {
                builder.Append("\\t");
            }
            else if (v == '\n')
            {
                builder.Append("\\n");
            }
            else if (v == '\r')
            {
                builder.Append("\\r");
            }
            else if (v < 0x20 || v == 0x7f || (v >= 0x80 && (asciiOnly || !IsPrintable(rune))))
            {
                builder.Append(v switch
                {
                    <= 0xff => string.Create(CultureInfo.InvariantCulture, $"\\x{v:x2}"),
                    <= 0xffff => string.Create(CultureInfo.InvariantCulture, $"\\u{v:x4}"),
                    _ => string.Create(CultureInfo.InvariantCulture, $"\\U{v:x8}"),
                });
            }
            else
            {
                builder.Append(rune.ToString());
            }
        }

        return builder.Append(quote).ToString();
    }

    // Python's str.isprintable: not in categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs (except the ASCII space).
    private static bool IsPrintable(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
            or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
            or UnicodeCategory.SpaceSeparator => false,
        _ => true,
    };
}
