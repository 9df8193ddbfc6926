using System.Reflection;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// Gunicorn's command line on System.CommandLine: <see cref="CommandLineModel"/> is the command generated from the
/// settings table (options, arity, conversions, accumulation, APP_MODULE); <see cref="ArgparseSyntax"/> is the edge
/// that reads argv with argparse's rules first (unique long-option prefixes, <c>--flag=value</c>, <c>-w4</c>, bundled
/// switches, negative numbers as values, <c>--</c>, <c>-v</c> for the version). Syntax errors are usage errors (exit 2);
/// values are checked later by the validators, except the integer conversions argparse itself does
/// (<c>-w abc</c> is exit 2, as in Gunicorn).
/// </summary>
public static class CommandLine
{
    public const string Program = "unicorn";
    public const string Usage = "usage: unicorn [OPTIONS] [APP_MODULE]";

    /// <summary>The version string printed by <c>-v</c>.</summary>
    public static string Version =>
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>Parses argv and <c>GUNICORN_CMD_ARGS</c> (split like a POSIX shell). Throws <see cref="ConfigException"/> on bad syntax.</summary>
    public static CommandLineResult Parse(string[] argv, IReadOnlyDictionary<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(argv);
        ArgumentNullException.ThrowIfNull(environment);
        var fromArgv = ParseOne(argv, out var output);
        if (output is not null)
        {
            return new CommandLineResult(ParsedArguments.Empty, ParsedArguments.Empty, output);
        }

        var fromEnvironment = ParsedArguments.Empty;
        if (environment.TryGetValue("GUNICORN_CMD_ARGS", out var envArgs) && envArgs is not null)
        {
            fromEnvironment = ParseOne(ShellWords.Split(envArgs), out output);
        }

        return new CommandLineResult(fromArgv, fromEnvironment, output);
    }

    private static ParsedArguments ParseOne(IReadOnlyList<string> args, out string? output)
    {
        var reading = ArgparseSyntax.Read(args);
        // Conversion errors come first: System.CommandLine only saw the tokens before the edge's error.
        var values = CommandLineModel.Parse(reading.Tokens);
        if (reading.Error is { } error)
        {
            throw error;
        }

        // -h is argparse's layout rendered by HelpText from the settings table, not System.CommandLine's HelpBuilder,
        // whose layout (sections, columns, default notes) is not the text Gunicorn users know.
        output = values.Help ? HelpText.Render() : values.Version ? $"{Program} (version {Version})\n" : null;
        if (output is null && reading.Unrecognized.Count > 0)
        {
            throw ArgparseSyntax.UsageError("unrecognized arguments: " + string.Join(' ', reading.Unrecognized));
        }

        return new ParsedArguments(values.Settings, values.Positionals);
    }
}
