using System.Text;

namespace Unicorn.Wsgi.Config;

/// <summary><c>-h</c>: argparse's layout, generated from the settings table.</summary>
internal static class HelpText
{
    private const int Column = 24;
    private const int Width = 100;

    public static string Render()
    {
        var sb = new StringBuilder();
        sb.Append(CommandLine.Usage).Append("\n\noptions:\n");
        Option(sb, "-h, --help", "show this help message and exit");
        Option(sb, "-v, --version", "show program's version number and exit");
        foreach (var setting in SettingsTable.All.Where(s => s.Flags.Count > 0))
        {
            var invocation = string.Join(", ", setting.Flags.Select(f => Invocation(setting, f)));
            var note = setting.Supported ? "" : " (not supported yet)";
            Option(sb, invocation, $"{FirstSentence(setting.Doc)}{note} [{DefaultText(setting)}]");
        }

        return sb.ToString();
    }

    /// <summary>The default as Gunicorn's help shows it: the validated value, or the documented form when it depends on the machine.</summary>
    internal static string DefaultText(Setting setting)
    {
        if (setting.DefaultDoc is { } doc)
        {
            return doc;
        }

        var context = ResolveContext.Empty;
        return PythonRepr.Str(setting.Validate(setting.Default(context), context));
    }

    internal static string FirstSentence(string doc)
    {
        var end = doc.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? doc.TrimEnd('.') : doc[..end];
    }

    private static string Invocation(Setting setting, string flag) => setting.Action switch
    {
        CliAction.StoreTrue or CliAction.StoreConst => flag,
        CliAction.OptionalValue => $"{flag} [{Metavar(setting)}]",
        _ => $"{flag} {Metavar(setting)}",
    };

    private static string Metavar(Setting setting) => setting.Meta ?? setting.Name.ToUpperInvariant();

    private static void Option(StringBuilder sb, string invocation, string help)
    {
        sb.Append("  ").Append(invocation);
        var lines = Wrap(help, Width - Column);
        if (invocation.Length + 2 < Column - 1)
        {
            sb.Append(' ', Column - 2 - invocation.Length).Append(lines[0]).Append('\n');
            lines.RemoveAt(0);
        }
        else
        {
            sb.Append('\n');
        }

        foreach (var line in lines)
        {
            sb.Append(' ', Column).Append(line).Append('\n');
        }
    }

    private static List<string> Wrap(string text, int width)
    {
        var lines = new List<string>();
        var line = new StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                lines.Add(line.ToString());
                line.Clear();
            }

            line.Append(line.Length > 0 ? " " : "").Append(word);
        }

        lines.Add(line.ToString());
        return lines;
    }
}
