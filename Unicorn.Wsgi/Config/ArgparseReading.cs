namespace Unicorn.Wsgi.Config;

/// <summary>What <see cref="ArgparseSyntax"/> read: the token stream for System.CommandLine and what argparse would report.</summary>
internal sealed class ArgparseReading
{
    public ArgparseReading(IReadOnlyList<string> tokens, IReadOnlyList<string> unrecognized, ConfigException? error)
    {
        Tokens = tokens;
        Unrecognized = unrecognized;
        Error = error;
    }

    /// <summary>Flags, each value as one marked token, then <c>--</c> and the positional arguments argparse keeps.</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>Unknown options and extra positionals, in order: argparse's "unrecognized arguments".</summary>
    public IReadOnlyList<string> Unrecognized { get; }

    /// <summary>The first syntax error met while consuming; <see cref="Tokens"/> end where it was met.</summary>
    public ConfigException? Error { get; }
}
