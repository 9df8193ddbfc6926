using System.CommandLine;
using System.CommandLine.Parsing;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// The System.CommandLine command generated from <see cref="SettingsTable"/>: one option per setting with flags
/// (its flags as aliases; a switch takes no value, any other option one value per occurrence, converted as argparse's
/// <c>type=int</c>/<c>auto_int</c> would), <c>-h/--help</c>, <c>-v/--version</c> and the APP_MODULE argument. It is fed
/// the token stream <see cref="ArgparseSyntax"/> produces, never raw argv.
/// </summary>
internal sealed class CommandLineModel
{
    // Every value reaches System.CommandLine behind a NUL, which no argv word or environment variable can contain:
    // a marked token never names an option, "--" or a response file, so a value such as "--bind=--x" stays a value.
    private const char ValueMark = '\0';

    private static readonly Lazy<CommandLineModel> s_instance = new(() => new CommandLineModel());

    private static readonly ParserConfiguration s_configuration = new()
    {
        // argparse has neither; the edge handles argparse's own bundling (-Dw3).
        EnablePosixBundling = false,
        ResponseFileTokenReplacer = null,
    };

    private readonly Command _command = new(CommandLine.Program);
    private readonly Option<bool> _help = new("--help", "-h") { Arity = ArgumentArity.Zero };
    private readonly Option<bool> _version = new("--version", "-v") { Arity = ArgumentArity.Zero };
    private readonly Argument<string[]> _appModule = new("APP_MODULE") { Arity = ArgumentArity.ZeroOrMore };
    private readonly Dictionary<string, Option> _optionBySetting = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Setting?> _byFlag = new(StringComparer.Ordinal);
    private readonly List<string> _longFlags = [];

    private CommandLineModel()
    {
        _command.Options.Add(_help);
        _command.Options.Add(_version);
        _command.Arguments.Add(_appModule);
        foreach (var flag in _help.Aliases.Prepend(_help.Name).Concat(_version.Aliases.Prepend(_version.Name)))
        {
            _byFlag.Add(flag, null);
        }

        foreach (var setting in SettingsTable.All.Where(s => s.Flags.Count > 0))
        {
            var option = CreateOption(setting);
            _command.Options.Add(option);
            _optionBySetting.Add(setting.Name, option);
            foreach (var flag in setting.Flags)
            {
                _byFlag.Add(flag, setting);
            }
        }

        // Candidates for a long-option prefix, in argparse's order: help, version, then the table's.
        _longFlags.AddRange(_byFlag.Keys.Where(f => f.StartsWith("--", StringComparison.Ordinal)));
    }

    private static CommandLineModel Instance => s_instance.Value;

    public static IReadOnlyList<string> LongFlags => Instance._longFlags;

    public static bool IsLongFlag(string flag) => flag.StartsWith("--", StringComparison.Ordinal) && Instance._byFlag.ContainsKey(flag);

    /// <summary>True for a known one-letter flag; <paramref name="setting"/> is null for -h and -v.</summary>
    public static bool TryGetShort(string flag, out Setting? setting) => Instance._byFlag.TryGetValue(flag, out setting);

    /// <summary>The setting a known flag sets; null for the help and version flags.</summary>
    public static Setting? SettingOf(string flag) => Instance._byFlag[flag];

    /// <summary>How argparse names a flag's argument in errors: "-w/--workers".</summary>
    public static string Display(string flag) => SettingOf(flag) switch
    {
        { } setting => setting.Display,
        null when Instance._help.Aliases.Contains(flag) || flag == Instance._help.Name => "-h/--help",
        null => "-v/--version",
    };

    public static string MarkValue(string value) => ValueMark + value;

    /// <summary>
    /// Parses the edge's token stream. Conversion errors (argparse's "invalid int value") are System.CommandLine
    /// errors; the first one is thrown as a usage error.
    /// </summary>
    public static CommandLineValues Parse(IReadOnlyList<string> tokens)
    {
        var model = Instance;
        var result = model._command.Parse(tokens, s_configuration);
        if (result.Errors.Count > 0)
        {
            throw ArgparseSyntax.UsageError(result.Errors[0].Message);
        }

        // Settings in the order their flags first appear, as the resolver applies (and reports) them.
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var token in tokens.TakeWhile(t => t != "--"))
        {
            if (token[0] == ValueMark || model._byFlag[token] is not { } setting || values.ContainsKey(setting.Name))
            {
                continue;
            }

            values[setting.Name] = setting.Action switch
            {
                CliAction.StoreTrue => true,
                CliAction.StoreConst => setting.Const,
                _ => result.GetResult(model._optionBySetting[setting.Name])!.GetValueOrDefault<object?>(),
            };
        }

        // A switch that was not given still has an implicit result (its default), hence Implicit.
        var help = result.GetResult(model._help) is { Implicit: false };
        var version = result.GetResult(model._version) is { Implicit: false };
        return new CommandLineValues(values, result.GetValue(model._appModule) ?? [], help, version);
    }

    private static Option CreateOption(Setting setting)
    {
        var name = setting.Flags[0];
        var aliases = setting.Flags.Skip(1).ToArray();
        if (setting.Action is CliAction.StoreTrue or CliAction.StoreConst)
        {
            return new Option<bool>(name, aliases) { Arity = ArgumentArity.Zero };
        }

        if (setting.Action == CliAction.OptionalValue && setting.Const is not string)
        {
            throw new InvalidOperationException($"{setting.Name}: an optional-value flag needs a text constant");
        }

        // Each occurrence brings exactly one value (the edge made it one token), and occurrences accumulate:
        // a repeatable flag keeps them all, any other keeps the last, as argparse's append and store do.
        return new Option<object?>(name, aliases)
        {
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
            CustomParser = result => Convert(setting, result),
        };
    }

    private static object? Convert(Setting setting, ArgumentResult result)
    {
        var texts = result.Tokens.Select(t => t.Value[0] == ValueMark ? t.Value[1..] : t.Value).ToList();
        if (setting.Action == CliAction.Append)
        {
            return texts;
        }

        object? last = null;
        foreach (var text in texts)
        {
            if (!TryConvert(setting, text, out last))
            {
                var typeName = setting.CliType == CliValueType.Int ? "int" : "auto_int";
                result.AddError($"argument {setting.Display}: invalid {typeName} value: {PythonRepr.Quote(text)}");
                return null;
            }
        }

        return last;
    }

    private static bool TryConvert(Setting setting, string text, out object? value)
    {
        value = text;
        if (setting.CliType == CliValueType.String)
        {
            return true;
        }

        var ok = setting.CliType == CliValueType.Int
            ? PythonInt.TryParse(text, autoBase: false, out var n)
            : PythonInt.TryParseAuto(text, out n);
        value = n;
        return ok;
    }
}
