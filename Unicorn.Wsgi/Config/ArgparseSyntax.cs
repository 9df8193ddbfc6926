using System.Text.RegularExpressions;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// The edge in front of System.CommandLine: argparse's syntax, which System.CommandLine cannot be configured to.
/// System.CommandLine decides whether a token is an option by whether it names a known option; argparse decides by
/// its shape (a leading '-' makes an option unless it is a negative number), and that one difference decides what
/// <c>--bind --x</c>, <c>-w -1</c>, <c>--x app</c> and <c>-Dw3</c> mean. So this reads argv the way argparse does and
/// hands <see cref="CommandLineModel"/> one unambiguous token stream: each option occurrence as a flag token plus
/// its value as one <see cref="CommandLineModel.MarkValue">marked</see> token, then <c>--</c> and APP_MODULE.
/// Like argparse it works in two passes: classify every token (an ambiguous prefix fails here, before anything
/// else), then consume them in order (a missing value, or -h/-v, stops there).
/// </summary>
internal sealed partial class ArgparseSyntax
{
    private readonly List<string> _tokens = [];
    private readonly List<string> _positionals = [];
    private readonly List<string> _unrecognized = [];
    private ConfigException? _error;
    private bool _stopped;

    private ArgparseSyntax()
    {
    }

    public static ArgparseReading Read(IReadOnlyList<string> args)
    {
        var reader = new ArgparseSyntax();
        var longFlags = Classify(args);
        reader.Consume(args, longFlags);
        reader._tokens.Add("--");
        reader._tokens.AddRange(reader._positionals);
        return new ArgparseReading(reader._tokens, reader._unrecognized, reader._error);
    }

    public static ConfigException UsageError(string message) =>
        new($"{CommandLine.Usage}\n{CommandLine.Program}: error: {message}", exitCode: 2);

    // argparse's first pass: long options are matched (prefixes expanded) before any is consumed, so an ambiguous
    // prefix is reported even after -h or a bad value. Null for a token that is not a long option or is unknown.
    private static string?[] Classify(IReadOnlyList<string> args)
    {
        var flags = new string?[args.Count];
        for (var i = 0; i < args.Count && args[i] != "--"; i++)
        {
            var arg = args[i];
            if (LooksLikeOption(arg) && arg.StartsWith("--", StringComparison.Ordinal))
            {
                var eq = arg.IndexOf('=', StringComparison.Ordinal);
                flags[i] = MatchLong(eq < 0 ? arg : arg[..eq]);
            }
        }

        return flags;
    }

    // System.CommandLine has no abbreviations; argparse accepts any unique prefix of a long option (--graceful 4).
    private static string? MatchLong(string name)
    {
        if (CommandLineModel.IsLongFlag(name))
        {
            return name;
        }

        var candidates = CommandLineModel.LongFlags.Where(f => f.StartsWith(name, StringComparison.Ordinal)).ToList();
        return candidates.Count switch
        {
            0 => null,
            1 => candidates[0],
            _ => throw UsageError($"ambiguous option: {name} could match {string.Join(", ", candidates)}"),
        };
    }

    private void Consume(IReadOnlyList<string> args, string?[] longFlags)
    {
        var positionalsTaken = false;
        var inPositionalRun = false;
        for (var i = 0; i < args.Count && !_stopped; i++)
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

            i = arg.StartsWith("--", StringComparison.Ordinal) ? ConsumeLong(args, i, longFlags[i]) : ConsumeShort(args, i, arg[1..]);
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
        arg.Length > 1 && arg[0] == '-' && !NegativeNumber().IsMatch(arg);

    // argparse treats "-1" and "-.5" as values, not options, when no option looks like a number.
    [GeneratedRegex(@"^-\d+$|^-\d*\.\d+$")]
    private static partial Regex NegativeNumber();

    // argparse's --flag=value; split here (not by System.CommandLine, which also splits at ':').
    private int ConsumeLong(IReadOnlyList<string> args, int index, string? flag)
    {
        var arg = args[index];
        if (flag is null)
        {
            _unrecognized.Add(arg);
            return index;
        }

        var eq = arg.IndexOf('=', StringComparison.Ordinal);
        return Option(flag, eq < 0 ? null : arg[(eq + 1)..], args, index);
    }

    // argparse's short forms: -w4, -w=4 and bundled switches (-Dw3 is -D -w3); System.CommandLine's POSIX bundling
    // is off because it would also unbundle tokens argparse reads as values. As in argparse, the whole bundle is
    // checked before any of its switches acts: -hx is an error, not help.
    private int ConsumeShort(IReadOnlyList<string> args, int index, string body)
    {
        var switches = new List<(string Flag, Setting? Setting)>();
        while (true)
        {
            var flag = "-" + body[0];
            var rest = body.Length > 1 ? body[1..] : null;
            if (!CommandLineModel.TryGetShort(flag, out var setting))
            {
                if (switches.Count == 0)
                {
                    // argparse also tries the whole token as a (long-style) single-dash option before giving up.
                    _unrecognized.Add(args[index]);
                    return index;
                }

                var (previous, _) = switches[^1];
                Stop(UsageError($"argument {CommandLineModel.Display(previous)}: ignored explicit argument '{body}'"));
                return index;
            }

            if (setting is null || setting.Action is CliAction.StoreTrue or CliAction.StoreConst)
            {
                if (rest is not null && rest.StartsWith('=') && switches.Count == 0)
                {
                    // -D=x: argparse splits a token's first flag at '=', so the value it ignores is "x".
                    rest = rest[1..];
                }

                switches.Add((flag, setting));
                if (rest is null)
                {
                    break;
                }

                if (rest.Length == 0)
                {
                    Stop(UsageError($"argument {CommandLineModel.Display(flag)}: ignored explicit argument ''"));
                    return index;
                }

                body = rest;
                continue;
            }

            foreach (var (switchFlag, switchSetting) in switches)
            {
                if (!Switch(switchFlag, switchSetting))
                {
                    return index;
                }
            }

            // -w=4 as -w4.
            return Option(flag, rest is not null && rest.StartsWith('=') ? rest[1..] : rest, args, index);
        }

        foreach (var (switchFlag, switchSetting) in switches)
        {
            // -h and -v end the command line like --help and --version, even inside a bundle.
            if (!Switch(switchFlag, switchSetting))
            {
                break;
            }
        }

        return index;
    }

    private int Option(string flag, string? attached, IReadOnlyList<string> args, int index)
    {
        var setting = CommandLineModel.SettingOf(flag);
        if (setting is null || setting.Action is CliAction.StoreTrue or CliAction.StoreConst)
        {
            if (attached is not null)
            {
                Stop(UsageError($"argument {CommandLineModel.Display(flag)}: ignored explicit argument '{attached}'"));
                return index;
            }

            Switch(flag, setting);
            return index;
        }

        var next = index + 1 < args.Count && !LooksLikeOption(args[index + 1]) && args[index + 1] != "--" ? args[index + 1] : null;
        if (attached is null && next is not null)
        {
            attached = next;
            index++;
        }

        if (attached is null && setting.Action == CliAction.OptionalValue)
        {
            // argparse's nargs='?' with const: the edge supplies the constant as the value, so that
            // System.CommandLine's merged list of values still ends with this occurrence's.
            attached = (string)setting.Const!;
        }

        if (attached is null)
        {
            Stop(UsageError($"argument {setting.Display}: expected one argument"));
            return index;
        }

        _tokens.Add(flag);
        _tokens.Add(CommandLineModel.MarkValue(attached));
        return index;
    }

    /// <summary>Emits a switch; false when it ends the command line (-h, -v).</summary>
    private bool Switch(string flag, Setting? setting)
    {
        _tokens.Add(flag);
        if (setting is null)
        {
            // argparse's help and version actions exit as soon as they are consumed: later errors and
            // unrecognized arguments are never reported.
            _unrecognized.Clear();
            _stopped = true;
            return false;
        }

        return true;
    }

    // argparse stops at the first error it meets while consuming; System.CommandLine still checks the values before it.
    private void Stop(ConfigException error)
    {
        _error = error;
        _stopped = true;
    }
}
