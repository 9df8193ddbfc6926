using System.Text;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// The part of Python's <c>configparser</c> that PasteDeploy ini files use: <c>[sections]</c>, <c>key = value</c> or
/// <c>key: value</c>, indented continuation lines, <c>#</c>/<c>;</c> comment lines, lower-cased keys, a
/// <c>[DEFAULT]</c> section, and <c>%(name)s</c> interpolation with PasteDeploy's <c>here</c> and <c>__file__</c>.
/// </summary>
public sealed class IniFile
{
    private const string DefaultSection = "DEFAULT";
    private readonly Dictionary<string, Dictionary<string, string>> _sections = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _defaults = new(StringComparer.Ordinal);

    private IniFile(string path) => Path = path;

    public string Path { get; }

    public IEnumerable<string> Sections => _sections.Keys;

    public static IniFile Read(string path)
    {
        var ini = new IniFile(path);
        ini._defaults["here"] = System.IO.Path.GetDirectoryName(path) ?? "/";
        ini._defaults["__file__"] = path;
        ini.Parse(File.ReadAllLines(path));
        return ini;
    }

    public bool HasSection(string name) => _sections.ContainsKey(name);

    /// <summary>The keys of <paramref name="section"/> (not those inherited from DEFAULT), in file order.</summary>
    public IReadOnlyList<string> Keys(string section) => _sections.TryGetValue(section, out var s) ? s.Keys.ToList() : [];

    /// <summary>The interpolated value of <paramref name="key"/>, looking in the section, then DEFAULT.</summary>
    public string? Get(string section, string key)
    {
        var raw = Raw(section, key.ToLowerInvariant());
        return raw is null ? null : Interpolate(section, raw, depth: 0);
    }

    private string? Raw(string section, string key) =>
        _sections.TryGetValue(section, out var s) && s.TryGetValue(key, out var v) ? v
        : _defaults.TryGetValue(key, out var d) ? d
        : null;

    private string Interpolate(string section, string value, int depth)
    {
        if (depth > 10)
        {
            throw new ConfigException($"unicorn: error: {Path}: [{section}] interpolation is too deeply nested");
        }

        var sb = new StringBuilder();
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] != '%')
            {
                sb.Append(value[i]);
                continue;
            }

            if (i + 1 < value.Length && value[i + 1] == '%')
            {
                sb.Append('%');
                i++;
                continue;
            }

            var close = value.IndexOf(")s", i, StringComparison.Ordinal);
            if (i + 1 >= value.Length || value[i + 1] != '(' || close < 0)
            {
                throw new ConfigException($"unicorn: error: {Path}: [{section}] '%' must be followed by '%' or '(name)s' in: {value}");
            }

            var name = value[(i + 2)..close].ToLowerInvariant();
            var replacement = Raw(section, name)
                ?? throw new ConfigException($"unicorn: error: {Path}: [{section}] refers to undefined '%({name})s'");
            sb.Append(Interpolate(section, replacement, depth + 1));
            i = close + 1;
        }

        return sb.ToString();
    }

    private void Parse(string[] lines)
    {
        Dictionary<string, string>? current = null;
        string? lastKey = null;
        for (var n = 0; n < lines.Length; n++)
        {
            var line = lines[n];
            var trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed[0] is '#' or ';')
            {
                continue;
            }

            if (char.IsWhiteSpace(line[0]) && current is not null && lastKey is not null)
            {
                current[lastKey] = current[lastKey].Length == 0 ? trimmed : current[lastKey] + "\n" + trimmed;
                continue;
            }

            if (trimmed[0] == '[' && trimmed.EndsWith(']'))
            {
                var name = trimmed[1..^1];
                current = name == DefaultSection ? _defaults : _sections.TryGetValue(name, out var existing) ? existing : _sections[name] = new(StringComparer.Ordinal);
                lastKey = null;
                continue;
            }

            var separator = trimmed.IndexOfAny(['=', ':']);
            if (current is null || separator <= 0)
            {
                throw new ConfigException($"unicorn: error: {Path}, line {n + 1}: cannot parse '{trimmed}'");
            }

            lastKey = trimmed[..separator].Trim().ToLowerInvariant();
            current[lastKey] = trimmed[(separator + 1)..].Trim();
        }
    }
}
