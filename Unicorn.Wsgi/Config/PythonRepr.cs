using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// Python's <c>str()</c>/<c>repr()</c>: of setting values, so <c>--print-config</c> reads as Gunicorn's, and of strings for
/// the access log's <c>%(x)r</c>/<c>%(x)a</c> conversions.
/// </summary>
internal static class PythonRepr
{
    /// <summary><c>str(value)</c>: strings bare, everything else as <see cref="Repr"/>.</summary>
    public static string Str(object? value) => Shown(value) is string s ? s : Format(value);

    public static string Format(object? value) => Shown(value) switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        string s => Quote(s),
        int i => i.ToString(CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d when double.IsFinite(d) && d == Math.Floor(d) && Math.Abs(d) < 1e16 => d.ToString("F1", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        HookReference h => $"<{h.Display}()>",
        IReadOnlyDictionary<string, object?> d => "{" + string.Join(", ", d.Select(kv => Quote(kv.Key) + ": " + Format(kv.Value))) + "}",
        IEnumerable<string> list => "[" + string.Join(", ", list.Select(s => Quote(s))) + "]",
        IEnumerable<object?> list => "[" + string.Join(", ", list.Select(Format)) + "]",
        ITuple tuple => "(" + string.Join(", ", Enumerable.Range(0, tuple.Length).Select(i => Format(tuple[i]))) + ")",
        PythonObject o => o.Repr,
        var other => other.ToString() ?? "",
    };

    private static object? Shown(object? value) => value is IPythonValue p ? p.Python : PlainValue.Of(value);

    /// <summary>
    /// <c>repr()</c> of a str (or <c>ascii()</c> with <paramref name="asciiOnly"/>): single quotes unless the text has a
    /// single quote and no double quote; control and unprintable characters escaped as Python does.
    /// </summary>
    public static string Quote(string text, bool asciiOnly = false)
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
