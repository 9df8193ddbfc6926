using System.Reflection;
using System.Text.RegularExpressions;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// Gunicorn's command line, parsed with argparse's rules: long options may be abbreviated to a unique prefix,
/// <c>--flag=value</c> and <c>-wVALUE</c> forms, bundled short switches (<c>-Dw3</c>), <c>--</c> ends options,
/// negative numbers are values. Syntax errors are usage errors (exit 2); values are checked later by the validators,
/// except the integer conversions argparse itself does (<c>-w abc</c> is exit 2, as in Gunicorn).
/// </summary>
public sealed partial class CommandLine
{
    public const string Program = "unicorn";
    public const string Usage = "usage: unicorn [OPTIONS] [APP_MODULE]";

    private readonly Dictionary<string, object?> _values = new(StringComparer.Ordinal);
    private readonly List<string> _positionals = [];
    private readonly List<string> _unrecognized = [];
    private string? _output;

    private CommandLine()
    {
    }

    /// <summary>The version string printed by <c>-v</c>.</summary>
    public static string Version =>
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>Parses argv and <c>GUNICORN_CMD_ARGS</c> (split like a POSIX shell). Throws <see cref="ConfigException"/> on bad syntax.</summary>
    public static CommandLineResult Parse(string[] argv, IReadOnlyDictionary<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(argv);
        ArgumentNullException.ThrowIfNull(environment);
        var fromArgv = new CommandLine();
        fromArgv.ParseAll(argv);
        if (fromArgv._output is { } output)
        {
            return new CommandLineResult(ParsedArguments.Empty, ParsedArguments.Empty, output);
        }

        var fromEnvironment = new CommandLine();
        if (environment.TryGetValue("GUNICORN_CMD_ARGS", out var envArgs) && envArgs is not null)
        {
            fromEnvironment.ParseAll(ShellWords.Split(envArgs));
        }

        return new CommandLineResult(fromArgv.ToArguments(), fromEnvironment.ToArguments(), fromEnvironment._output);
    }

    private ParsedArguments ToArguments() => new(_values, _positionals);

    private static ConfigException UsageError(string message) =>
        new($"{Usage}\n{Program}: error: {message}", exitCode: 2);

    private void ParseAll(IReadOnlyList<string> args)
    {
        var positionalsTaken = false;
        var inPositionalRun = false;
        for (var i = 0; i < args.Count && _output is null; i++)
        {
            var arg = args[i];
            if (arg == "--")
            {
                // Everything after '--' is positional.
                foreach (var rest in args.Skip(i + 1))
                {
                    AddPositional(rest, ref positionalsTaken, ref inPositionalRun);
                }

                break;
            }

            if (!LooksLikeOption(arg))
            {
                AddPositional(arg, ref positionalsTaken, ref inPositionalRun);
                continue;
            }

            if (inPositionalRun)
            {
                inPositionalRun = false;
                positionalsTaken = true;
            }

            i = arg.StartsWith("--", StringComparison.Ordinal) ? ParseLong(args, i) : ParseShort(args, i, arg[1..]);
        }

        if (_unrecognized.Count > 0)
        {
            throw UsageError("unrecognized arguments: " + string.Join(' ', _unrecognized));
        }
    }

    // argparse fills the '*' positional with the first run of positionals; later ones are extras.
    private void AddPositional(string arg, ref bool taken, ref bool inRun)
    {
        if (taken)
        {
            _unrecognized.Add(arg);
            return;
        }

        inRun = true;
        _positionals.Add(arg);
    }

    private static bool LooksLikeOption(string arg) =>
        arg.Length > 1 && arg[0] == '-' && !IsNegativeNumber(arg);

    // argparse treats "-1" and "-.5" as values, not options, when no option looks like a number.
    private static bool IsNegativeNumber(string arg) => NegativeNumber().IsMatch(arg);

    [GeneratedRegex(@"^-\d+$|^-\d*\.\d+$")]
    private static partial Regex NegativeNumber();

    private int ParseLong(IReadOnlyList<string> args, int index)
    {
        var arg = args[index];
        var eq = arg.IndexOf('=', StringComparison.Ordinal);
        var name = eq < 0 ? arg : arg[..eq];
        string? attached = eq < 0 ? null : arg[(eq + 1)..];

        var flag = MatchLong(name);
        if (flag is null)
        {
            _unrecognized.Add(arg);
            return index;
        }

        if (HandleSpecial(flag))
        {
            return index;
        }

        return Apply(SettingsTable.ByFlag[flag], flag, attached, args, index);
    }

    private int ParseShort(IReadOnlyList<string> args, int index, string body)
    {
        // body is the text after '-': "w3", "Dw3", "b=x", "w".
        while (true)
        {
            var flag = "-" + body[0];
            var rest = body.Length > 1 ? body[1..] : null;
            if (flag is "-h" or "-v")
            {
                HandleSpecial(flag == "-h" ? "--help" : "--version");
                return index;
            }

            if (!SettingsTable.ByFlag.TryGetValue(flag, out var setting))
            {
                // argparse also tries the whole token as a (long-style) single-dash option before giving up.
                _unrecognized.Add(args[index]);
                return index;
            }

            if (setting.Action is CliAction.StoreTrue or CliAction.StoreConst)
            {
                Store(setting, null);
                if (rest is null)
                {
                    return index;
                }

                // Bundled switches: "-Dw3" is "-D -w3".
                body = rest;
                continue;
            }

            if (rest is not null && rest.StartsWith('='))
            {
                rest = rest[1..];
            }

            return Apply(setting, flag, rest, args, index);
        }
    }

    private string? MatchLong(string name)
    {
        if (name is "--help" or "--version" || SettingsTable.ByFlag.ContainsKey(name))
        {
            return name;
        }

        var candidates = AllLongFlags().Where(f => f.StartsWith(name, StringComparison.Ordinal)).ToList();
        return candidates.Count switch
        {
            0 => null,
            1 => candidates[0],
            _ => throw UsageError($"ambiguous option: {name} could match {string.Join(", ", candidates)}"),
        };
    }

    private static IEnumerable<string> AllLongFlags() =>
        new[] { "--help", "--version" }.Concat(SettingsTable.All.SelectMany(s => s.Flags).Where(f => f.StartsWith("--", StringComparison.Ordinal)));

    private bool HandleSpecial(string flag)
    {
        switch (flag)
        {
            case "--help":
                _output = HelpText.Render();
                return true;
            case "--version":
                _output = $"{Program} (version {Version})\n";
                return true;
            default:
                return false;
        }
    }

    private int Apply(Setting setting, string flag, string? attached, IReadOnlyList<string> args, int index)
    {
        switch (setting.Action)
        {
            case CliAction.StoreTrue or CliAction.StoreConst:
                if (attached is not null)
                {
                    throw UsageError($"argument {setting.Display}: ignored explicit argument '{attached}'");
                }

                Store(setting, null);
                return index;
            case CliAction.OptionalValue:
                if (attached is null && index + 1 < args.Count && !LooksLikeOption(args[index + 1]) && args[index + 1] != "--")
                {
                    attached = args[++index];
                }

                Store(setting, attached ?? setting.Const);
                return index;
            default:
                if (attached is null)
                {
                    if (index + 1 >= args.Count || LooksLikeOption(args[index + 1]) || args[index + 1] == "--")
                    {
                        throw UsageError($"argument {setting.Display}: expected one argument");
                    }

                    attached = args[++index];
                }

                Store(setting, attached);
                return index;
        }
    }

    private void Store(Setting setting, object? text)
    {
        switch (setting.Action)
        {
            case CliAction.StoreTrue:
                _values[setting.Name] = true;
                break;
            case CliAction.StoreConst:
                _values[setting.Name] = setting.Const;
                break;
            case CliAction.Append:
                if (!_values.TryGetValue(setting.Name, out var existing) || existing is not List<string> list)
                {
                    _values[setting.Name] = list = [];
                }

                list.Add((string)text!);
                break;
            default:
                _values[setting.Name] = Convert(setting, text);
                break;
        }
    }

    private static object? Convert(Setting setting, object? value)
    {
        if (value is not string text || setting.CliType == CliValueType.String)
        {
            return value;
        }

        var ok = setting.CliType == CliValueType.Int
            ? PythonInt.TryParse(text, autoBase: false, out var n)
            : PythonInt.TryParseAuto(text, out n);
        var typeName = setting.CliType == CliValueType.Int ? "int" : "auto_int";
        return ok ? n : throw UsageError($"argument {setting.Display}: invalid {typeName} value: {PythonRepr.Quote(text)}");
    }
}
