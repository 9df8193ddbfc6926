namespace Unicorn.Wsgi.Config;

/// <summary>What defaults and validators may look at: the environment and directory settings resolve in.</summary>
public sealed class ResolveContext
{
    public ResolveContext(IReadOnlyDictionary<string, string?> environment, string workingDirectory)
    {
        Environment = environment;
        WorkingDirectory = workingDirectory;
    }

    /// <summary>No environment, root directory: for showing defaults that do not depend on either.</summary>
    public static ResolveContext Empty { get; } = new(new Dictionary<string, string?>(), "/");

    public IReadOnlyDictionary<string, string?> Environment { get; }

    public string WorkingDirectory { get; }

    public string? GetEnvironment(string name) => Environment.TryGetValue(name, out var v) ? v : null;
}
