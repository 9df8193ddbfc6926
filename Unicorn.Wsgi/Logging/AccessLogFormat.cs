using System.Globalization;
using System.Text;
using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Logging;

/// <summary>
/// A compiled <c>access_log_format</c>: Python's <c>%(name)s</c> mapping format applied to Gunicorn's atoms
/// (see <see cref="AccessLogAtoms"/>). Compiled once, so a bad format fails at start-up with one line
/// naming the flag rather than once per request as in Gunicorn. Supports the conversions people use in
/// access formats: s, r, a, d, i, u, f, F, x, X, o, with flags, width and precision.
/// </summary>
public sealed class AccessLogFormat
{
    /// <summary>Gunicorn's default (Apache "combined").</summary>
    public const string Default = "%(h)s %(l)s %(u)s %(t)s \"%(r)s\" %(s)s %(b)s \"%(f)s\" \"%(a)s\"";

    private readonly Part[] _parts;

    private AccessLogFormat(string text, Part[] parts)
    {
        Text = text;
        _parts = parts;
    }

    public string Text { get; }

    public static AccessLogFormat Parse(string format)
    {
        ArgumentNullException.ThrowIfNull(format);
        var parts = new List<Part>();
        var literal = new StringBuilder();
        var i = 0;
        while (i < format.Length)
        {
            var c = format[i++];
            if (c != '%')
            {
                literal.Append(c);
                continue;
            }

            if (i >= format.Length)
            {
                throw Invalid(format, "ends with an incomplete '%'");
            }

            if (format[i] == '%')
            {
                literal.Append('%');
                i++;
                continue;
            }

            if (format[i] != '(')
            {
                throw Invalid(format, $"'%{format[i]}' has no atom name; write %(h)s, %(r)s...");
            }

            // The key runs to the matching parenthesis (Python counts nesting).
            var depth = 1;
            var start = ++i;
            while (i < format.Length && depth > 0)
            {
                depth += format[i] switch { '(' => 1, ')' => -1, _ => 0 };
                i++;
            }

            if (depth > 0)
            {
                throw Invalid(format, "has an unclosed '%('");
            }

            var key = format[start..(i - 1)];
            var spec = new Spec();
            while (i < format.Length && "-+ #0".Contains(format[i], StringComparison.Ordinal))
            {
                switch (format[i++])
                {
                    case '-': spec.Left = true; break;
                    case '+': spec.Plus = true; break;
                    case ' ': spec.Space = true; break;
                    case '0': spec.Zero = true; break;
                    default: spec.Alternate = true; break;
                }
            }

            spec.Width = ReadNumber(format, ref i);
            if (i < format.Length && format[i] == '.')
            {
                i++;
                spec.Precision = ReadNumber(format, ref i) ?? 0;
            }

            if (i < format.Length && format[i] == '*')
            {
                throw Invalid(format, "uses '*' for a width, which needs positional arguments");
            }

            while (i < format.Length && format[i] is 'h' or 'l' or 'L')
            {
                i++;
            }

            if (i >= format.Length)
            {
                throw Invalid(format, $"ends inside %({key})");
            }

            spec.Conversion = format[i++];
            if (spec.Conversion == '%')
            {
                literal.Append('%');
                continue;
            }

            if (!"sraiduFfxXo".Contains(spec.Conversion, StringComparison.Ordinal))
            {
                throw Invalid(format, $"has unsupported conversion '%({key}){spec.Conversion}'");
            }

            if (literal.Length > 0)
            {
                parts.Add(new Part(literal.ToString(), null, default));
                literal.Clear();
            }

            parts.Add(new Part(null, AccessLogAtoms.Compile(key), spec));
        }

        if (literal.Length > 0)
        {
            parts.Add(new Part(literal.ToString(), null, default));
        }

        return new AccessLogFormat(format, [.. parts]);
    }

    /// <summary>Formats one line (without the newline). Throws <see cref="FormatException"/> when a
    /// conversion does not fit the atom's value (e.g. %(h)d), as Python's % would.</summary>
    public string Format(AccessLogEntry entry)
    {
        var builder = new StringBuilder(256);
        Format(entry, builder);
        return builder.ToString();
    }

    public void Format(AccessLogEntry entry, StringBuilder output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var atoms = new AccessLogAtoms(entry);
        foreach (var part in _parts)
        {
            if (part.Literal is not null)
            {
                output.Append(part.Literal);
                continue;
            }

            var value = atoms.Get(part.Atom!);
            Convert(value, part.Spec, output);
        }
    }

    private static void Convert(AtomValue value, Spec spec, StringBuilder output)
    {
        string text;
        switch (spec.Conversion)
        {
            case 's':
                text = value.Text ?? value.Number.ToString(CultureInfo.InvariantCulture);
                if (spec.Precision is { } p && p < text.Length)
                {
                    text = text[..p];
                }

                break;
            case 'r' or 'a':
                text = value.Text is null ? value.Number.ToString(CultureInfo.InvariantCulture) : PythonRepr.Quote(value.Text, spec.Conversion == 'a');
                if (spec.Precision is { } rp && rp < text.Length)
                {
                    text = text[..rp];
                }

                break;
            default:
                if (value.Text is not null)
                {
                    throw new FormatException($"%{spec.Conversion} format: a real number is required, not str");
                }

                text = FormatNumber(value.Number, spec);
                break;
        }

        Pad(text, spec, output);
    }

    private static string FormatNumber(long n, Spec spec)
    {
        var negative = n < 0;
        var magnitude = negative ? (ulong)(-(n + 1)) + 1 : (ulong)n;
        var digits = spec.Conversion switch
        {
            'x' => magnitude.ToString("x", CultureInfo.InvariantCulture),
            'X' => magnitude.ToString("X", CultureInfo.InvariantCulture),
            'o' => System.Convert.ToString((long)magnitude, 8),
            'f' or 'F' => ((double)magnitude).ToString("F" + (spec.Precision ?? 6).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
            _ => magnitude.ToString(CultureInfo.InvariantCulture),
        };

        if (spec.Conversion is 'd' or 'i' or 'u' or 'x' or 'X' or 'o' && spec.Precision is { } p && digits.Length < p)
        {
            digits = new string('0', p - digits.Length) + digits;
        }

        if (spec.Alternate)
        {
            digits = spec.Conversion switch { 'x' => "0x", 'X' => "0X", 'o' => "0o", _ => "" } + digits;
        }

        var sign = negative ? "-" : spec.Plus ? "+" : spec.Space ? " " : "";
        if (spec.Zero && !spec.Left && spec.Width is { } w && sign.Length + digits.Length < w)
        {
            digits = new string('0', w - sign.Length - digits.Length) + digits;
        }

        return sign + digits;
    }

    private static void Pad(string text, Spec spec, StringBuilder output)
    {
        var pad = spec.Width is { } w && w > text.Length ? w - text.Length : 0;
        if (!spec.Left)
        {
            output.Append(' ', pad);
        }

        output.Append(text);
        if (spec.Left)
        {
            output.Append(' ', pad);
        }
    }

    private static int? ReadNumber(string format, ref int i)
    {
        var start = i;
        while (i < format.Length && char.IsAsciiDigit(format[i]))
        {
            i++;
        }

        return i > start ? int.Parse(format.AsSpan(start, i - start), CultureInfo.InvariantCulture) : null;
    }

    /// <summary>Why <paramref name="format"/> cannot be used (the message <see cref="Parse"/> would throw), or null.</summary>
    public static string? Problem(string format)
    {
        try
        {
            _ = Parse(format);
            return null;
        }
        catch (FormatException e)
        {
            return e.Message;
        }
    }

    private static FormatException Invalid(string format, string why) =>
        new($"--access-logformat: '{format}' {why}");

    private struct Spec
    {
        public bool Left, Plus, Space, Zero, Alternate;
        public int? Width, Precision;
        public char Conversion;
    }

    private sealed record Part(string? Literal, AccessLogAtoms.Atom? Atom, Spec Spec);
}
