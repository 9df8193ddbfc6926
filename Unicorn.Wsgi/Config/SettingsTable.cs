namespace Unicorn.Wsgi.Config;

/// <summary>
/// Every Gunicorn setting, in Gunicorn's declaration order, plus Unicorn's own. This one list drives the command
/// line, <c>GUNICORN_CMD_ARGS</c>, config files, <c>--print-config</c>, <c>-h</c> and <c>docs/settings.md</c>.
/// The rows live in partial files grouped by section, each returning its rows in order.
/// </summary>
public static partial class SettingsTable
{
    private static readonly Lazy<IReadOnlyList<Setting>> s_all = new(() =>
        [.. CoreRows(), .. MechanicsRows(), .. LoggingRows(), .. HookRows(), .. SslRows(), .. NewerRows()]);

    private static readonly Lazy<IReadOnlyDictionary<string, Setting>> s_byName =
        new(() => All.ToDictionary(s => s.Name, StringComparer.Ordinal));

    private static readonly Lazy<IReadOnlyDictionary<string, Setting>> s_byFlag =
        new(() => All.SelectMany(s => s.Flags.Select(f => (f, s))).ToDictionary(p => p.f, p => p.s, StringComparer.Ordinal));

    public static IReadOnlyList<Setting> All => s_all.Value;

    public static IReadOnlyDictionary<string, Setting> ByName => s_byName.Value;

    public static IReadOnlyDictionary<string, Setting> ByFlag => s_byFlag.Value;

    public static Setting Get(string name) => ByName.TryGetValue(name, out var s) ? s : throw new KeyNotFoundException($"unknown setting {name}");

    private static Setting IntRow(string name, string section, string[] flags, int value, string doc) => new()
    {
        Name = name,
        Section = section,
        Type = SettingType.Int,
        Flags = flags,
        Meta = "INT",
        CliType = CliValueType.Int,
        Default = _ => value,
        Validate = Validators.PositiveInt,
        Doc = doc,
    };

    private static Setting FlagRow(string name, string section, string flag, string doc, bool value = false) => new()
    {
        Name = name,
        Section = section,
        Type = SettingType.Bool,
        Flags = [flag],
        Action = CliAction.StoreTrue,
        Default = _ => value,
        Validate = Validators.Bool,
        Doc = doc,
    };

    private static Setting StringRow(string name, string section, string[] flags, string? meta, string? value, string doc) => new()
    {
        Name = name,
        Section = section,
        Type = SettingType.String,
        Flags = flags,
        Meta = meta,
        Default = _ => value,
        Validate = Validators.String,
        Doc = doc,
    };

    private static Setting ListRow(string name, string section, string flag, string? meta, string doc) => new()
    {
        Name = name,
        Section = section,
        Type = SettingType.StringList,
        Flags = [flag],
        Meta = meta,
        Action = CliAction.Append,
        Default = _ => Array.Empty<string>(),
        Validate = Validators.StringList,
        Doc = doc,
    };
}
