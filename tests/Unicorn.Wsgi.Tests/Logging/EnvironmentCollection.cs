namespace Unicorn.Wsgi.Tests.Logging;

/// <summary>Tests that set process environment variables (the metrics slot hand-over) run alone, so no
/// LoggingSetup.Create elsewhere picks the variables up meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    public const string Name = "process environment";
}
