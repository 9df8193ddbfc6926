namespace Unicorn.Wsgi.Config;

/// <summary>The settings one argument list names, before validation: setting name to raw value.</summary>
public sealed class ParsedArguments
{
    internal ParsedArguments(IReadOnlyDictionary<string, object?> values, IReadOnlyList<string> positionals)
    {
        Values = values;
        Positionals = positionals;
    }

    public static ParsedArguments Empty { get; } = new(new Dictionary<string, object?>(), []);

    /// <summary>
    /// Raw values by setting name: text, a number for integer flags, true for switches, the constant for
    /// <c>--no-sendfile</c>, a list for repeatable flags. The last occurrence of a flag wins (lists accumulate).
    /// </summary>
    public IReadOnlyDictionary<string, object?> Values { get; }

    /// <summary>Arguments that are not options; the first is APP_MODULE.</summary>
    public IReadOnlyList<string> Positionals { get; }
}

/// <summary>What <see cref="CommandLine.Parse"/> found in argv and in <c>GUNICORN_CMD_ARGS</c>.</summary>
public sealed class CommandLineResult
{
    internal CommandLineResult(ParsedArguments argv, ParsedArguments environment, string? output)
    {
        Argv = argv;
        Environment = environment;
        Output = output;
    }

    public ParsedArguments Argv { get; }

    /// <summary>The settings of <c>GUNICORN_CMD_ARGS</c> (its positional arguments are ignored, as in Gunicorn).</summary>
    public ParsedArguments Environment { get; }

    /// <summary>Text for stdout when <c>-h</c> or <c>-v</c> was given: print it and exit 0 without resolving.</summary>
    public string? Output { get; }

    /// <summary>APP_MODULE from the command line, if given.</summary>
    public string? AppModule => Argv.Positionals.Count > 0 ? Argv.Positionals[0] : null;
}
