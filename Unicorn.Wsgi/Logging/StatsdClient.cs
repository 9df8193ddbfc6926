using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Logging;

/// <summary>
/// Gunicorn's statsD instrumentation: the same metric names, types and wire format
/// (<c>PREFIXname:value|c|@1.0</c>, <c>|g</c>, <c>|ms</c>, plus <c>|#tags</c> for dogstatsd), one datagram per
/// metric on a non-blocking socket, so a slow or absent collector never holds up a request.
/// </summary>
public sealed class StatsdClient : IDisposable
{
    private readonly EndPoint _endPoint;
    private readonly byte[]? _tags;
    private readonly Lock _lock = new();
    private Socket? _socket;
    private long _retryAfter;
    private long _sent;
    private long _failures;

    public StatsdClient(StatsdAddress address, string prefix = "", string? dogstatsdTags = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        _endPoint = address.Path is { } path ? new UnixDomainSocketEndPoint(path)
            : IPAddress.TryParse(address.Host, out var ip) ? new IPEndPoint(ip, address.Port)
            : new DnsEndPoint(address.Host, address.Port);
        Prefix = NormalizePrefix(prefix);
        _tags = string.IsNullOrEmpty(dogstatsdTags) ? null : Encoding.ASCII.GetBytes("|#" + dogstatsdTags);
    }

    /// <summary>The prefix with exactly one trailing dot (or empty).</summary>
    public string Prefix { get; }

    public long Sent => Interlocked.Read(ref _sent);

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Gunicorn adds one trailing dot to a non-empty prefix ("app" and "app..." both become "app.").</summary>
    public static string NormalizePrefix(string? prefix)
    {
        var trimmed = (prefix ?? "").TrimEnd('.');
        return trimmed.Length == 0 ? "" : trimmed + ".";
    }

    public void Increment(string name, long value = 1, double samplingRate = 1.0) =>
        SendPacket(string.Create(CultureInfo.InvariantCulture, $"{Prefix}{name}:{value}|c|@{PythonFloat(samplingRate)}"));

    public void Decrement(string name, long value = 1, double samplingRate = 1.0) =>
        SendPacket(string.Create(CultureInfo.InvariantCulture, $"{Prefix}{name}:-{value}|c|@{PythonFloat(samplingRate)}"));

    public void Gauge(string name, long value) =>
        SendPacket(string.Create(CultureInfo.InvariantCulture, $"{Prefix}{name}:{value}|g"));

    public void Timer(string name, double value) =>
        SendPacket(string.Create(CultureInfo.InvariantCulture, $"{Prefix}{name}:{PythonFloat(value)}|ms"));

    public void Histogram(string name, long value) =>
        SendPacket(string.Create(CultureInfo.InvariantCulture, $"{Prefix}{name}:{value}|h"));

    /// <summary>A metric formatted by the caller (<c>name:value|g</c>), sent with the prefix and tags.</summary>
    public void Send(string metric) => SendPacket(Prefix + metric);

    /// <summary>What Gunicorn sends for every request: duration in ms, the request counter and the status counter.</summary>
    public void Access(int statusCode, TimeSpan duration)
    {
        var micros = duration.Ticks / 10;
        Timer("gunicorn.request.duration", (micros / 1_000_000 * 1000) + (micros % 1_000_000 / 1000.0));
        Increment("gunicorn.requests");
        Increment(string.Create(CultureInfo.InvariantCulture, $"gunicorn.request.status.{statusCode}"));
    }

    /// <summary>Gunicorn counts error-log records at warning and above (<c>gunicorn.log.error</c>...).</summary>
    public void CountLog(LogLevel level)
    {
        switch (level)
        {
            case LogLevel.Critical: Increment("gunicorn.log.critical"); break;
            case LogLevel.Error: Increment("gunicorn.log.error"); break;
            case LogLevel.Warning: Increment("gunicorn.log.warning"); break;
            default: break;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _socket?.Dispose();
            _socket = null;
        }
    }

    /// <summary>Python's repr of a float: shortest round-trip digits, and integral values keep ".0".</summary>
    internal static string PythonFloat(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.', StringComparison.Ordinal) || text.Contains('E', StringComparison.Ordinal) ? text : text + ".0";
    }

    private void SendPacket(string metric)
    {
        var length = Encoding.ASCII.GetByteCount(metric) + (_tags?.Length ?? 0);
        Span<byte> packet = length <= 512 ? stackalloc byte[length] : new byte[length];
        var n = Encoding.ASCII.GetBytes(metric, packet);
        _tags?.CopyTo(packet[n..]);
        try
        {
            var socket = Volatile.Read(ref _socket) ?? Connect();
            if (socket is null)
            {
                Interlocked.Increment(ref _failures);
                return;
            }

            socket.Send(packet, SocketFlags.None, out var error);
            if (error == SocketError.Success)
            {
                Interlocked.Increment(ref _sent);
            }
            else
            {
                Interlocked.Increment(ref _failures);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Interlocked.Increment(ref _failures);
        }
    }

    // Connects lazily and retries at most once a second, so a collector that starts after us is picked up.
    private Socket? Connect()
    {
        lock (_lock)
        {
            if (_socket is not null)
            {
                return _socket;
            }

            var now = Environment.TickCount64;
            if (now < _retryAfter)
            {
                return null;
            }

            Socket? socket = null;
            try
            {
                var endPoint = _endPoint;
                if (endPoint is DnsEndPoint dns)
                {
                    var addresses = Dns.GetHostAddresses(dns.Host);
                    var ip = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0];
                    endPoint = new IPEndPoint(ip, dns.Port);
                }

                socket = endPoint is UnixDomainSocketEndPoint
                    ? new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified)
                    : new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                socket.Blocking = false;
                socket.Connect(endPoint);
                _socket = socket;
                return socket;
            }
            catch (Exception e) when (e is SocketException or ArgumentException or IndexOutOfRangeException)
            {
                socket?.Dispose();
                _retryAfter = now + 1000;
                return null;
            }
        }
    }
}
