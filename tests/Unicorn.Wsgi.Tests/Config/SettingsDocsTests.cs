using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

public sealed class SettingsDocsTests
{
    [Fact]
    public void Docs_settings_md_is_generated_from_the_table()
    {
        var path = Path.Combine(RepositoryPaths.Root, "docs", "settings.md");
        var expected = SettingsDocs.RenderMarkdown();
        if (Environment.GetEnvironmentVariable("UNICORN_UPDATE_DOCS") == "1")
        {
            File.WriteAllText(path, expected);
        }

        Assert.True(File.Exists(path), $"{path} is missing; run with UNICORN_UPDATE_DOCS=1 to generate it");
        Assert.True(File.ReadAllText(path) == expected,
            "docs/settings.md is stale; regenerate: UNICORN_UPDATE_DOCS=1 dotnet test tests/Unicorn.Wsgi.Tests --filter SettingsDocsTests");
    }

    [Fact]
    public void Every_setting_and_flag_is_documented()
    {
        var md = SettingsDocs.RenderMarkdown();
        foreach (var setting in SettingsTable.All)
        {
            Assert.Contains($"### `{setting.Name}`", md, StringComparison.Ordinal);
            foreach (var flag in setting.Flags)
            {
                Assert.Contains($"`{flag}", md, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Help_shows_each_flags_first_sentence_whole()
    {
        // The first sentence ends at ". "; an abbreviation such as "e.g. " would cut -h's text short.
        foreach (var setting in SettingsTable.All)
        {
            Assert.DoesNotMatch(@"\b(e\.g|i\.e|etc)\. ", setting.Doc);
        }
    }
}
