using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Unicorn.Wsgi.Transport.Listeners;

public enum ListenAddressKind
{
    Tcp,
    Unix,
    Fd,
}

/// <summary>
/// One <c>-b/--bind</c> value as Gunicorn reads it: <c>HOST</c>, <c>HOST:PORT</c>, <c>[V6]:PORT</c>,
/// <c>tcp://HOST:PORT</c>, <c>unix:PATH</c>, <c>unix://PATH</c> or <c>fd://N</c>. A missing port is 8000.
/// </summary>
public sealed record ListenAddress(ListenAddressKind Kind, string Host = "", int Port = 0, string Path = "", int Fd = -1)
{
    public const int DefaultPort = 8000;

    public bool IsIPv6 => Kind == ListenAddressKind.Tcp && Host.Contains(':', StringComparison.Ordinal);

    /// <summary>Parses a bind value; throws <see cref="FormatException"/> with a one-line reason.</summary>
    public static ListenAddress Parse(string bind)
    {
        ArgumentNullException.ThrowIfNull(bind);
        var value = bind.Trim();
        if (value.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
        {
            return Unix(value["unix://".Length..], bind);
        }

        if (value.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
        {
            return Unix(value["unix:".Length..], bind);
        }

        if (value.StartsWith("fd://", StringComparison.OrdinalIgnoreCase))
        {
            var text = value["fd://".Length..];
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var fd) || fd < 0)
            {
                throw new FormatException($"'{text}' is not a valid file descriptor in bind '{bind}'.");
            }

            return new ListenAddress(ListenAddressKind.Fd, Fd: fd);
        }

        if (value.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase))
        {
            value = value["tcp://".Length..];
        }

        string host;
        string? port = null;
        if (value.StartsWith('['))
        {
            var close = value.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"'{bind}' is not a valid address: missing ']'.");
            }

            host = value[1..close];
            var rest = value[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':')
                {
                    throw new FormatException($"'{bind}' is not a valid address.");
                }

                port = rest[1..];
            }

            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                throw new FormatException($"'{host}' is not a valid IPv6 address in bind '{bind}'.");
            }
        }
        else if (value.Length == 0)
        {
            host = "0.0.0.0";
        }
        else
        {
            var colon = value.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0 && value.IndexOf(':', colon + 1) >= 0)
            {
                throw new FormatException($"'{bind}' is not a valid address: put an IPv6 address in brackets, as in [::1]:8000.");
            }

            host = colon < 0 ? value : value[..colon];
            port = colon < 0 ? null : value[(colon + 1)..];
        }

        var portNumber = DefaultPort;
        if (port is not null
            && (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out portNumber) || portNumber > 65535))
        {
            throw new FormatException($"'{port}' is not a valid port number.");
        }

        return new ListenAddress(ListenAddressKind.Tcp, host.ToLowerInvariant(), portNumber);
    }

    private static ListenAddress Unix(string path, string bind) =>
        path.Length == 0
            ? throw new FormatException($"'{bind}' has no socket path.")
            : new ListenAddress(ListenAddressKind.Unix, Path: path);

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
