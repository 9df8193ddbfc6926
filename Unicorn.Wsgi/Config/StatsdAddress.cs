using System.Globalization;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// The <c>statsd_host</c> address, parsed once when settings resolve, as Gunicorn's validator reads it:
/// <c>unix:PATH</c> or <c>unix://PATH</c> a datagram socket; else <c>HOST[:PORT]</c>, <c>[V6][:PORT]</c> or
/// <c>tcp://HOST[:PORT]</c>, the host lower-cased and the port 8125 by default; and <c>unix:NNN</c> the host named
/// <c>unix</c>, port NNN, as before Gunicorn 20 read UNIX sockets. What Gunicorn would make unusable (an fd, an empty
/// host, a third colon-separated part) is refused here rather than at the first metric.
/// </summary>
public sealed record StatsdAddress(string Text, string Host, int Port, string? Path) : IPlainValue, IPythonValue
{
    public const int DefaultPort = 8125;

    public const string Problem = "Value must be one of ('host:port', 'unix://PATH')";

    object? IPlainValue.Plain => Text;

    /// <summary>What Gunicorn holds for it: the socket path, or the (host, port) tuple.</summary>
    object? IPythonValue.Python => Path is null ? (Host, Port) : Path;

    /// <summary>Parses a <c>statsd_host</c> value; throws <see cref="FormatException"/> with Gunicorn's message.</summary>
    public static StatsdAddress Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.StartsWith("unix:", StringComparison.Ordinal))
        {
            var rest = text[5..];
            if (rest.Length > 0 && rest.All(char.IsAsciiDigit))
            {
                return new StatsdAddress(text, "unix", ParsePort(rest), null);
            }

            var path = rest.StartsWith("//", StringComparison.Ordinal) ? rest[2..] : rest;
            return path.Length > 0 ? new StatsdAddress(text, "", 0, path) : throw new FormatException(Problem);
        }

        var netloc = text.StartsWith("tcp://", StringComparison.Ordinal) ? text[6..] : text;
        string host;
        string? port = null;
        if (netloc.StartsWith('[') && netloc.IndexOf(']', StringComparison.Ordinal) is var close and > 0)
        {
            host = netloc[1..close];
            var after = netloc[(close + 1)..];
            port = after.Length == 0 ? null : after.StartsWith(':') ? after[1..] : throw new FormatException(Problem);
        }
        else
        {
            var parts = netloc.Split(':');
            host = parts[0];
            port = parts.Length switch
            {
                1 => null,
                2 => parts[1],
                _ => throw new FormatException(Problem),
            };
        }

        return host.Length > 0 && !host.Contains('/', StringComparison.Ordinal)
            ? new StatsdAddress(text, host.ToLowerInvariant(), port is null ? DefaultPort : ParsePort(port), null)
            : throw new FormatException(Problem);
    }

    private static int ParsePort(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? port
            : throw new FormatException(Problem);
}
