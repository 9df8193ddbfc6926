namespace Unicorn.Wsgi.Config;

/// <summary>
/// A typed setting value whose Python form differs from its plain text: what Gunicorn's validator makes of it (a
/// <c>(host, port)</c> tuple), which <c>--print-config</c> shows. The worker's JSON carries the plain text.
/// </summary>
public interface IPythonValue
{
    object? Python { get; }
}
