namespace Unicorn.Wsgi.Config;

/// <summary>How a setting's flag consumes the command line (argparse's actions, as Gunicorn uses them).</summary>
public enum CliAction
{
    /// <summary>The flag takes one value.</summary>
    Store,
    /// <summary>The flag takes no value and sets <c>true</c>.</summary>
    StoreTrue,
    /// <summary>The flag takes no value and sets <see cref="Setting.Const"/>.</summary>
    StoreConst,
    /// <summary>The flag takes one value and may repeat; values accumulate in order.</summary>
    Append,
    /// <summary>The flag takes one optional value; alone it means <see cref="Setting.Const"/>.</summary>
    OptionalValue,
}

/// <summary>How argparse converts a flag's text before the validator sees it (errors here exit 2).</summary>
public enum CliValueType
{
    String,
    /// <summary>Python's <c>int(text)</c>: decimal, optional sign, underscores between digits.</summary>
    Int,
    /// <summary>Gunicorn's <c>auto_int</c>: <c>int(text, 0)</c> that also reads a leading 0 as octal.</summary>
    AutoInt,
}

/// <summary>The typed shape of a resolved value; drives JSON, <c>--print-config</c> and the docs.</summary>
public enum SettingType
{
    Int,
    Bool,
    /// <summary>true, false or unset (None), as Gunicorn's <c>sendfile</c>.</summary>
    NullableBool,
    String,
    StringList,
    Dict,
    Hook,
}

/// <summary>
/// One row of <see cref="SettingsTable"/>: everything Unicorn knows about a Gunicorn setting.
/// Rows are immutable; the order of the table is Gunicorn's declaration order.
/// </summary>
public sealed record Setting
{
    public required string Name { get; init; }
    public required string Section { get; init; }
    public required SettingType Type { get; init; }
    /// <summary>Flags spelled exactly as Gunicorn spells them; empty when the setting is config-file only.</summary>
    public IReadOnlyList<string> Flags { get; init; } = [];
    public string? Meta { get; init; }
    public CliAction Action { get; init; } = CliAction.Store;
    public CliValueType CliType { get; init; } = CliValueType.String;
    /// <summary>The value a <see cref="CliAction.StoreConst"/> or <see cref="CliAction.OptionalValue"/> flag stores.</summary>
    public object? Const { get; init; }
    /// <summary>The raw default, evaluated when settings resolve (some read the environment); it goes through the validator.</summary>
    public required Func<ResolveContext, object?> Default { get; init; }
    /// <summary>The environment variable the default reads, if any (named in errors about it).</summary>
    public string? DefaultEnvironmentVariable { get; init; }
    /// <summary>How the docs and <c>-h</c> show the default when it depends on the machine.</summary>
    public string? DefaultDoc { get; init; }
    /// <summary>Turns a config value (text from argv, or a value from a config file) into the typed value.</summary>
    public required Func<object?, ResolveContext, object?> Validate { get; init; }
    /// <summary>
    /// True when the validator returns a domain type rather than the plain form (a list of
    /// <see cref="ListenAddress"/>, an enum...): a worker rebuilds it from the master's JSON with the validator.
    /// </summary>
    public bool DomainValue { get; init; }
    /// <summary>For hooks: the parameters Gunicorn calls it with, e.g. "server, worker".</summary>
    public string? HookParameters { get; init; }
    /// <summary>For hooks: the number of positional arguments Gunicorn calls it with.</summary>
    public int HookArity { get; init; }
    /// <summary>For hooks: Gunicorn's qualified name of the default, printed by <c>--print-config</c>.</summary>
    public string? HookDefaultName { get; init; }
    /// <summary>
    /// The validator Gunicorn's <c>Config.set</c> runs on this setting, by the name unicorn_server's Custom Application
    /// API knows it (<c>packaging/python/unicorn_server/app/validators.py</c>), which runs it at <c>cfg.set</c> as
    /// Gunicorn does; unset, the one the setting's type implies (see <see cref="GunicornValidatorName"/>).
    /// </summary>
    public string? GunicornValidator { get; init; }

    /// <summary><see cref="GunicornValidator"/>, or the one <see cref="Type"/> implies: a hook's is <c>callable:ARITY</c>.</summary>
    public string GunicornValidatorName => GunicornValidator ?? Type switch
    {
        SettingType.Int => "pos_int",
        SettingType.Bool or SettingType.NullableBool => "bool",
        SettingType.StringList => "list_string",
        SettingType.Dict => "dict",
        SettingType.Hook => $"callable:{HookArity}",
        _ => "string",
    };

    /// <summary>One or two sentences, in Unicorn's words.</summary>
    public required string Doc { get; init; }
    /// <summary>False while Unicorn cannot honour a non-default value: such a value is refused, never ignored.</summary>
    public bool Supported { get; init; } = true;
    /// <summary>Shown after the refusal, e.g. what to use instead.</summary>
    public string? UnsupportedHint { get; init; }
    /// <summary>True for settings Gunicorn does not have.</summary>
    public bool UnicornOnly { get; init; }

    /// <summary>"-w/--workers", or the setting name for config-only settings; used in error messages.</summary>
    public string Display => Flags.Count == 0 ? Name : string.Join('/', Flags);
}
