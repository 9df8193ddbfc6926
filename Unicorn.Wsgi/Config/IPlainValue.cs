namespace Unicorn.Wsgi.Config;

/// <summary>
/// A typed setting value that also has the plain form Gunicorn holds (a string, a list of strings): what
/// <c>--print-config</c> prints, the worker's JSON carries and a config file's <c>cfg</c> shows.
/// </summary>
public interface IPlainValue
{
    object? Plain { get; }
}
