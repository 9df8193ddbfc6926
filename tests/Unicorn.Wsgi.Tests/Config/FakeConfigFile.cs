using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

/// <summary>Stands in for the Python executor: returns fixed globals and records what it was asked to run.</summary>
internal sealed class FakeConfigFile(params (string Name, object? Value)[] globals) : IConfigFileSource
{
    public List<ConfigLocation> Executed { get; } = [];

    public IReadOnlyList<KeyValuePair<string, object?>> Execute(ConfigLocation location, IReadOnlySet<string> settingNames, string workingDirectory)
    {
        Executed.Add(location);
        return globals.Where(g => settingNames.Contains(g.Name)).Select(g => new KeyValuePair<string, object?>(g.Name, g.Value)).ToList();
    }
}
