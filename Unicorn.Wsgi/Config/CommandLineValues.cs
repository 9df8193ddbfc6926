namespace Unicorn.Wsgi.Config;

/// <summary>What <see cref="CommandLineModel"/> bound from one token stream.</summary>
internal sealed class CommandLineValues
{
    public CommandLineValues(IReadOnlyDictionary<string, object?> settings, IReadOnlyList<string> positionals, bool help, bool version)
    {
        Settings = settings;
        Positionals = positionals;
        Help = help;
        Version = version;
    }

    /// <summary>Raw values by setting name, in the order their flags first appeared.</summary>
    public IReadOnlyDictionary<string, object?> Settings { get; }

    public IReadOnlyList<string> Positionals { get; }

    public bool Help { get; }

    public bool Version { get; }
}
