using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Serialization;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// TOML config files: <c>-c unicorn.toml</c> (settings at the top level, or under <c>[tool.unicorn]</c>) and
/// <c>pyproject.toml</c>'s <c>[tool.unicorn]</c> table. Same names and validators as the Python config file;
/// hooks are given as dotted paths.
/// </summary>
public static class TomlConfigFile
{
    /// <summary>The keys a TOML file sets, in file order; the resolver warns about those that are no setting.</summary>
    public static IReadOnlyList<KeyValuePair<string, object?>> Read(string path)
    {
        TomlTable document;
        try
        {
            document = TomlSerializer.Deserialize(File.ReadAllText(path), TomlConfigContext.Default.TomlTable)!;
        }
        catch (TomlException e)
        {
            throw new ConfigException($"unicorn: failed to read config file {path}, line {e.Line}: {FirstLine(e.Message)}");
        }
        catch (IOException e)
        {
            throw new ConfigException($"unicorn: failed to read config file {path}: {e.Message}");
        }

        var unicorn = UnicornTable(document);
        var topLevel = document.Keys.Where(SettingsTable.ByName.ContainsKey).ToList();
        if (unicorn is not null && topLevel.Count > 0)
        {
            // Either place is read, never both: say so rather than drop one silently.
            throw new ConfigException($"unicorn: config file {path} sets {string.Join(", ", topLevel)} at the top level " +
                "and has a [tool.unicorn] table; put the settings in one of them");
        }

        var table = unicorn ?? (Path.GetFileName(path) == "pyproject.toml" ? new TomlTable() : document);
        return table.Select(kv => new KeyValuePair<string, object?>(kv.Key, ToPlain(kv.Value))).ToList();
    }

    /// <summary>True when <paramref name="path"/> is a TOML file with a <c>[tool.unicorn]</c> table.</summary>
    public static bool HasUnicornTable(string path)
    {
        try
        {
            return File.Exists(path) && UnicornTable(TomlSerializer.Deserialize(File.ReadAllText(path), TomlConfigContext.Default.TomlTable)!) is not null;
        }
        catch (TomlException)
        {
            // A broken pyproject.toml is not ours to report unless it is named with -c.
            return false;
        }
    }

    private static TomlTable? UnicornTable(TomlTable document) =>
        document.TryGetValue("tool", out var tool) && tool is TomlTable t && t.TryGetValue("unicorn", out var u) && u is TomlTable unicorn
            ? unicorn
            : null;

    private static object? ToPlain(object? value) => value switch
    {
        TomlTable t => t.ToDictionary(kv => kv.Key, kv => ToPlain(kv.Value), StringComparer.Ordinal),
        TomlTableArray a => a.Select(t => ToPlain(t)).ToList(),
        TomlArray a => a.Select(ToPlain).ToList(),
        int i => (long)i,
        _ => value,
    };

    // Tomlyn prefixes "(line,column) : error : "; the line is already in our message.
    private static string FirstLine(string s)
    {
        var line = s.Split('\n')[0].Trim();
        var marker = line.IndexOf("error : ", StringComparison.Ordinal);
        return marker >= 0 ? line[(marker + "error : ".Length)..] : line;
    }
}

/// <summary>The document model, source-generated: the native build has no reflection-based TOML serializer.</summary>
[TomlSerializable(typeof(TomlTable))]
internal sealed partial class TomlConfigContext : TomlSerializerContext;
