using System.Text;

namespace Unicorn.Wsgi.Config;

/// <summary><c>--print-config</c> (and the debug log's dump): every setting as <c>name = value</c>, sorted by name, names padded to one width, as Gunicorn prints them.</summary>
public static class PrintConfig
{
    public static string Render(Settings s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var names = SettingsTable.All.Select(x => x.Name).Where(s.Contains).Order(StringComparer.Ordinal).ToList();
        var width = names.Max(n => n.Length);
        var sb = new StringBuilder();
        foreach (var name in names)
        {
            sb.Append(name.PadRight(width)).Append(" = ").Append(PythonRepr.Str(s.Get<object?>(name))).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>
    /// What unicorn_server's Custom Application API reads for its <c>cfg</c> (asked for with
    /// <see cref="ValidatorsVariable"/> set): every setting as <c>name validator = repr(value)</c>, in declaration
    /// order, the validator being the one its <c>cfg.set</c> runs (<see cref="Setting.GunicornValidatorName"/>).
    /// </summary>
    public static string RenderWithValidators(Settings s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var sb = new StringBuilder();
        foreach (var setting in SettingsTable.All.Where(x => s.Contains(x.Name)))
        {
            sb.Append(setting.Name).Append(' ').Append(setting.GunicornValidatorName).Append(" = ")
                .Append(PythonRepr.Format(s.Get<object?>(setting.Name))).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>Set (to anything) in the environment of <c>--print-config</c>, it prints <see cref="RenderWithValidators"/>.</summary>
    public const string ValidatorsVariable = "UNICORN_PRINT_CONFIG_VALIDATORS";

    /// <summary>
    /// Gunicorn's debug-level <c>Current configuration:</c> record, written as the master starts and on each reload:
    /// every setting as <c>  name: value</c>, in Gunicorn's declaration order.
    /// </summary>
    public static string RenderCurrent(Settings s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var sb = new StringBuilder("Current configuration:");
        foreach (var name in SettingsTable.All.Select(x => x.Name).Where(s.Contains))
        {
            sb.Append("\n  ").Append(name).Append(": ").Append(PythonRepr.Str(s.Get<object?>(name)));
        }

        return sb.ToString();
    }
}
