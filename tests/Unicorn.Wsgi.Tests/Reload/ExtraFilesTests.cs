using Unicorn.Wsgi.Workers.Reload;

namespace Unicorn.Wsgi.Tests.Reload;

public sealed class ExtraFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-globs-").FullName;

    public ExtraFilesTests()
    {
        foreach (var file in new[] { "settings.toml", "ui/a/config.json", "ui/b/config.json", "ui/b/deep/config.json", "templates/x/y/page.html", "templates/top.html", "notes[1].txt" })
        {
            var path = Path.Combine(_dir, file);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, "x");
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private List<string> Expand(params string[] entries) =>
        [.. new ExtraFiles(entries, _dir).Expand().Select(f => Path.GetRelativePath(_dir, f)).Order(StringComparer.Ordinal)];

    [Fact]
    public void StarMatchesOneDirectoryLevel() =>
        Assert.Equal(["ui/a/config.json", "ui/b/config.json"], Expand("ui/*/config.json"));

    [Fact]
    public void DoubleStarRecursesIncludingZeroDirectories() =>
        Assert.Equal(["templates/top.html", "templates/x/y/page.html"], Expand("templates/**/*.html"));

    [Fact]
    public void QuestionMarkAndSetsMatchOneCharacter() =>
        Assert.Equal(["settings.toml"], Expand("settings.[st]om?"));

    [Fact]
    public void LiteralEntriesAreKeptAsGivenEvenWhenMissing() =>
        Assert.Equal(["later.cfg", "settings.toml"], Expand("settings.toml", "later.cfg"));

    [Fact]
    public void PatternsMatchingNothingAreReported()
    {
        var files = new ExtraFiles(["*.yaml", "*.toml"], _dir);
        Assert.Equal(["*.yaml"], files.PatternsMatchingNothing());
    }

    [Fact]
    public void AbsolutePatternsWork() =>
        Assert.Equal(["ui/b/config.json", "ui/b/deep/config.json"], Expand(Path.Combine(_dir, "ui/b/**")));
}
