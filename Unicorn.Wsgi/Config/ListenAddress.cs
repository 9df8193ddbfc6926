using System.Globalization;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// One <c>bind</c> address, parsed once when settings resolve, as Gunicorn reads it: <c>HOST</c>, <c>HOST:PORT</c>,
/// <c>[IPV6]:PORT</c>, <c>tcp://...</c>, <c>unix:PATH</c>, <c>unix://PATH</c> or <c>fd://N</c>. A missing port is 8000;
/// an empty address is <c>0.0.0.0</c>. <see cref="Text"/> keeps the address as written, for <c>--print-config</c>.
/// </summary>
public sealed record ListenAddress(ListenAddressKind Kind, string Host = "", int Port = 0, string Path = "", int Fd = -1) : IPlainValue
{
    public const int DefaultPort = 8000;

    /// <summary>The address as written in the settings.</summary>
    public string Text { get; init; } = "";

    public bool IsIPv6 => Kind == ListenAddressKind.Tcp && Host.Contains(':', StringComparison.Ordinal);

    object? IPlainValue.Plain => Text;

    /// <summary>Parses a bind value; throws <see cref="FormatException"/> with a one-line reason.</summary>
    public static ListenAddress Parse(string bind)
    {
        ArgumentNullException.ThrowIfNull(bind);
        return TryParse(bind, out var address, out var problem) ? address : throw new FormatException(problem);
    }

    /// <summary>Parses a bind value; on failure <paramref name="problem"/> says why, in one line.</summary>
    public static bool TryParse(string bind, out ListenAddress address, out string problem)
    {
        ArgumentNullException.ThrowIfNull(bind);
        problem = Read(bind, out var parsed) ?? "";
        address = parsed with { Text = bind };
        return problem.Length == 0;
    }

    private static string? Read(string address, out ListenAddress parsed)
    {
        parsed = new ListenAddress(ListenAddressKind.Tcp);
        if (address.StartsWith("unix:", StringComparison.Ordinal))
        {
            var path = address.StartsWith("unix://", StringComparison.Ordinal) ? address[7..] : address[5..];
            parsed = new ListenAddress(ListenAddressKind.Unix, Path: path);
            return path.Length == 0 ? $"'{address}' has no socket path" : null;
        }

        if (address.StartsWith("fd://", StringComparison.Ordinal))
        {
            if (!int.TryParse(address[5..], NumberStyles.None, CultureInfo.InvariantCulture, out var fd))
            {
                return $"'{address[5..]}' is not a valid file descriptor.";
            }

            parsed = new ListenAddress(ListenAddressKind.Fd, Fd: fd);
            return null;
        }

        var netloc = address.StartsWith("tcp://", StringComparison.Ordinal) ? address[6..] : address;
        if (netloc.Contains("://", StringComparison.Ordinal))
        {
            // "http://0.0.0.0:8000", as a URL is often written: Gunicorn's "'//0.0.0.0' is not a valid port" says less.
            return $"'{address}' is not a valid address (a bind is HOST:PORT, tcp://HOST:PORT, unix:PATH or fd://FD)";
        }

        string host;
        string? port;
        if (netloc.StartsWith('['))
        {
            var close = netloc.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return $"'{address}' has an unclosed '['";
            }

            host = netloc[1..close];
            var rest = netloc[(close + 1)..];
            if (rest.Length > 0 && rest[0] != ':')
            {
                return $"'{address}' is not a valid address";
            }

            port = rest.Length > 0 ? rest[1..] : null;
            if (!host.Contains(':', StringComparison.Ordinal) || !IpNetwork.IsPlainAddress(host, out _))
            {
                return $"'{host}' is not a valid IPv6 address";
            }
        }
        else
        {
            var colon = netloc.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0 && netloc.IndexOf(':', colon + 1) >= 0)
            {
                return $"'{address}' is not a valid address (write IPv6 addresses as [ADDRESS]:PORT)";
            }

            host = colon < 0 ? netloc : netloc[..colon];
            port = colon < 0 ? null : netloc[(colon + 1)..];
            if (host.Length > 0 && !IsHostName(host))
            {
                return $"'{host}' is not a valid host name";
            }

            if (netloc.Length == 0)
            {
                host = "0.0.0.0";
            }
        }

        var portNumber = DefaultPort;
        if (port is not null && (port.Length == 0 || !port.All(char.IsAsciiDigit)
            || !int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out portNumber) || portNumber > 65535))
        {
            return $"'{port}' is not a valid port number.";
        }

        parsed = new ListenAddress(ListenAddressKind.Tcp, host.ToLowerInvariant(), portNumber);
        return null;
    }

    private static bool IsHostName(string host) =>
        host.Length <= 253 && host.Split('.').All(label => label.Length is > 0 and <= 63
            && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'));

    /// <summary>The address as Gunicorn prints it in its bind errors: <c>('127.0.0.1', 8000)</c> or the path.</summary>
    public string ToPythonRepr() => Kind switch
    {
        ListenAddressKind.Tcp => string.Create(CultureInfo.InvariantCulture, $"('{Host}', {Port})"),
        ListenAddressKind.Unix => Path,
        _ => string.Create(CultureInfo.InvariantCulture, $"fd://{Fd}"),
    };

    public override string ToString() => Kind switch
    {
        ListenAddressKind.Tcp when IsIPv6 => string.Create(CultureInfo.InvariantCulture, $"[{Host}]:{Port}"),
        ListenAddressKind.Tcp => string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}"),
        ListenAddressKind.Unix => "unix:" + Path,
        _ => string.Create(CultureInfo.InvariantCulture, $"fd://{Fd}"),
    };
}
