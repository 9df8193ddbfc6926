using System.Globalization;

namespace Unicorn.Wsgi.Logging;

public enum SyslogTransport
{
    Udp,
    Tcp,

    /// <summary>unix:// without a suffix: datagram, falling back to stream (what Python's SysLogHandler does).</summary>
    Unix,
    UnixDatagram,
    UnixStream,
}

/// <summary><c>--log-syslog-to</c>: <c>udp://HOST:PORT</c>, <c>tcp://HOST:PORT</c>, <c>unix://PATH[#dgram|#stream]</c>.</summary>
public sealed record SyslogAddress(SyslogTransport Transport, string Host, int Port, string? Path)
{
    public const int DefaultPort = 514;

    /// <summary>Gunicorn's default on Linux.</summary>
    public const string Default = "udp://localhost:514";

    /// <summary>Parses like Gunicorn (host lowercased, [v6] brackets, port 514 when absent, empty host is
    /// localhost). Throws <see cref="FormatException"/> with one line naming the flag.</summary>
    public static SyslogAddress Parse(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.StartsWith("unix://", StringComparison.Ordinal))
        {
            var rest = address["unix://".Length..];
            var hash = rest.IndexOf('#', StringComparison.Ordinal);
            var transport = SyslogTransport.Unix;
            if (hash >= 0)
            {
                transport = rest[(hash + 1)..] switch
                {
                    "dgram" => SyslogTransport.UnixDatagram,
                    "stream" => SyslogTransport.UnixStream,
                    var other => throw new FormatException($"--log-syslog-to: unknown unix socket type '#{other}' in '{address}' (use #dgram or #stream)"),
                };
                rest = rest[..hash];
            }

            if (rest.Length == 0)
            {
                throw new FormatException($"--log-syslog-to: '{address}' has no socket path");
            }

            return new SyslogAddress(transport, "", 0, rest);
        }

        SyslogTransport kind;
        string hostPort;
        if (address.StartsWith("udp://", StringComparison.Ordinal))
        {
            kind = SyslogTransport.Udp;
            hostPort = address["udp://".Length..];
        }
        else if (address.StartsWith("tcp://", StringComparison.Ordinal))
        {
            kind = SyslogTransport.Tcp;
            hostPort = address["tcp://".Length..];
        }
        else
        {
            throw new FormatException($"--log-syslog-to: invalid syslog address '{address}' (use udp://HOST:PORT, tcp://HOST:PORT or unix://PATH)");
        }

        string host;
        string afterHost;
        if (hostPort.StartsWith('[') && hostPort.IndexOf(']', StringComparison.Ordinal) is var close and > 0)
        {
            host = hostPort[1..close];
            afterHost = hostPort[(close + 1)..];
        }
        else
        {
            var colon = hostPort.IndexOf(':', StringComparison.Ordinal);
            host = colon >= 0 ? hostPort[..colon] : hostPort;
            afterHost = colon >= 0 ? hostPort[colon..] : "";
        }

        if (host.Length == 0)
        {
            host = "localhost";
        }

        var port = DefaultPort;
        if (afterHost.StartsWith(':'))
        {
            var text = afterHost[1..];
            if (text.Length == 0 || !text.All(char.IsAsciiDigit) ||
                !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port > 65535)
            {
                throw new FormatException($"--log-syslog-to: '{text}' is not a valid port number in '{address}'");
            }
        }

        return new SyslogAddress(kind, host.ToLowerInvariant(), port, null);
    }
}
