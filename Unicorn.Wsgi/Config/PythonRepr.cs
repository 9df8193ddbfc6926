using System.Globalization;
using System.Text;

namespace Unicorn.Wsgi.Config;

/// <summary>Python's <c>str()</c>/<c>repr()</c> of setting values, so <c>--print-config</c> reads as Gunicorn's.</summary>
internal static class PythonRepr
{
    /// <summary><c>str(value)</c>: strings bare, everything else as <see cref="Repr"/>.</summary>
    public static string Str(object? value) => value is string s ? s : Format(value);

    public static string Format(object? value) => value switch
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
        IEnumerable<string> list => "[" + string.Join(", ", list.Select(Quote)) + "]",
        IEnumerable<object?> list => "[" + string.Join(", ", list.Select(Format)) + "]",
        PythonObject o => o.Repr,
        _ => value.ToString() ?? "",
    };

    /// <summary>repr() of a str: single quotes unless the text has a single quote and no double quote.</summary>
    public static string Quote(string s)
    {
        var quote = s.Contains('\'', StringComparison.Ordinal) && !s.Contains('"', StringComparison.Ordinal) ? '"' : '\'';
        var sb = new StringBuilder(s.Length + 2).Append(quote);
        foreach (var c in s)
        {
            switch (c)
            {
                case '\\': sb.Append(@"\\"); break;
                case '\n': sb.Append(@"\n"); break;
                case '\r': sb.Append(@"\r"); break;
                case '\t': sb.Append(@"\t"); break;
                default:
                    if (c == quote)
                    {
                        sb.Append('\\').Append(c);
                    }
                    else if (c < 0x20 || c == 0x7f)
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        return sb.Append(quote).ToString();
    }
}
