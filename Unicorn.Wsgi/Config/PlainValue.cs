namespace Unicorn.Wsgi.Config;

/// <summary>The plain form of a typed setting value: what Gunicorn would hold for it (see <see cref="IPlainValue"/>).</summary>
internal static class PlainValue
{
    /// <summary>An <see cref="IPlainValue"/>'s plain form, an enum's lower-case name (<c>off</c>, <c>drop</c>), else the value itself.</summary>
    public static object? Of(object? value) => value switch
    {
        IPlainValue p => p.Plain,
        Enum e => e.ToString().ToLowerInvariant(),
        _ => value,
    };
}
