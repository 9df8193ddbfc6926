using System.Text;

namespace Unicorn.Wsgi.Config;

/// <summary><c>docs/settings.md</c>, generated from the settings table so the reference cannot drift from the code.</summary>
public static class SettingsDocs
{
    public static string RenderMarkdown()
    {
        var sb = new StringBuilder();
        sb.Append("# Settings\n\n")
          .Append("<!-- Generated from Unicorn.Wsgi/Config/SettingsTable*.cs by SettingsDocs.RenderMarkdown(); do not edit.\n")
          .Append("     Regenerate: UNICORN_UPDATE_DOCS=1 dotnet test tests/Unicorn.Wsgi.Tests --filter SettingsDocsTests -->\n\n")
          .Append("Every Gunicorn setting, in Gunicorn's order, with Unicorn's own at the end of their section. ")
          .Append("Set them on the command line, in `GUNICORN_CMD_ARGS`, in a Python config file (`gunicorn.conf.py`, `-c FILE`, ")
          .Append("`-c python:MODULE`) or in TOML (`-c unicorn.toml`, or `[tool.unicorn]` in `pyproject.toml`). ")
          .Append("Precedence, lowest first: defaults, framework (PasteDeploy), config file, `GUNICORN_CMD_ARGS`, command line.\n\n")
          .Append("A setting marked *not supported yet* may still be written at its default value; any other value stops the ")
          .Append("server with a message naming it, so nothing is silently ignored.\n\n");

        foreach (var section in SettingsTable.All.Select(s => s.Section).Distinct())
        {
            sb.Append("## ").Append(section).Append("\n\n");
            foreach (var setting in SettingsTable.All.Where(s => s.Section == section))
            {
                Describe(sb, setting);
            }
        }

        return sb.ToString();
    }

    private static void Describe(StringBuilder sb, Setting setting)
    {
        sb.Append("### `").Append(setting.Name).Append("`\n\n");
        if (setting.Type == SettingType.Hook)
        {
            sb.Append("`def ").Append(setting.Name).Append('(').Append(setting.HookParameters).Append("):`\n\n");
        }

        if (setting.Flags.Count > 0)
        {
            sb.Append("- Command line: ").Append(string.Join(", ", setting.Flags.Select(f => $"`{Usage(setting, f)}`"))).Append('\n');
        }
        else
        {
            sb.Append("- Command line: none (config file only)\n");
        }

        sb.Append("- Type: ").Append(TypeName(setting)).Append('\n');
        sb.Append("- Default: `").Append(HelpText.DefaultText(setting).Replace("`", "'", StringComparison.Ordinal)).Append("`\n");
        if (!setting.Supported)
        {
            sb.Append("- **Not supported yet**").Append(setting.UnsupportedHint is { } hint ? $" ({hint})" : "").Append('\n');
        }

        if (setting.UnicornOnly)
        {
            sb.Append("- Unicorn only (Gunicorn has no such setting)\n");
        }

        sb.Append('\n').Append(setting.Doc).Append("\n\n");
    }

    private static string Usage(Setting setting, string flag) => setting.Action switch
    {
        CliAction.StoreTrue or CliAction.StoreConst => flag,
        CliAction.OptionalValue => $"{flag} [{setting.Meta}]",
        CliAction.Append => $"{flag} {setting.Meta ?? setting.Name.ToUpperInvariant()} (repeatable)",
        _ => $"{flag} {setting.Meta ?? setting.Name.ToUpperInvariant()}",
    };

    private static string TypeName(Setting setting) => setting.Type switch
    {
        SettingType.Int => setting.CliType == CliValueType.AutoInt ? "integer (octal with a leading 0, hex with 0x)" : "integer",
        SettingType.Bool => "boolean (`true`/`false` in text)",
        SettingType.NullableBool => "boolean or unset",
        SettingType.String => "string",
        SettingType.StringList => setting.Action == CliAction.Append ? "list of strings" : "comma-separated list",
        SettingType.Dict => "dictionary (config file only)",
        SettingType.Hook => $"callable taking {setting.HookArity} argument{(setting.HookArity == 1 ? "" : "s")}, or a dotted path string",
        _ => setting.Type.ToString(),
    };
}
