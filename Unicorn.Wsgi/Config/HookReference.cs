namespace Unicorn.Wsgi.Config;

/// <summary>Where a server hook comes from. The callable itself lives in Python; C# only records which one.</summary>
public enum HookOrigin
{
    /// <summary>Gunicorn's default, which does nothing (except <c>ssl_context</c>, which builds the default context).</summary>
    Default,
    /// <summary>A callable defined (or imported) in the config file under the hook's name.</summary>
    ConfigFile,
    /// <summary>A dotted path string <c>module.attr</c>, imported when the hook is installed.</summary>
    DottedPath,
}

/// <summary>
/// The resolved value of a hook setting. <see cref="Display"/> is what <c>--print-config</c> prints inside
/// <c>&lt;...()&gt;</c>: the callable's qualified name.
/// </summary>
public sealed record HookReference(HookOrigin Origin, string Display, string? DottedPath = null)
{
    public bool IsDefault => Origin == HookOrigin.Default;
}
