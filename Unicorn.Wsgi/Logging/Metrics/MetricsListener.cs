using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Unicorn.Wsgi.Logging.Metrics;

/// <summary>
/// The master's <c>--metrics-bind HOST:PORT</c> endpoint: a tiny HTTP/1.0-style responder on its own socket
/// (not the app's listeners) that answers <c>GET /metrics</c> with <see cref="PrometheusText"/> and closes the
/// connection. Requests are read with a size limit and a timeout, so a slow or hostile scraper costs
/// one small buffer and never blocks the master's loop.
/// </summary>
public sealed class MetricsListener : IAsyncDisposable
{
    private const int MaxRequestBytes = 8192;
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _socket;
    private readonly Func<string> _render;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private MetricsListener(Socket socket, Func<string> render)
    {
        _socket = socket;
        _render = render;
        _accepting = Task.Run(AcceptLoop);
    }

    public IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>Binds <paramref name="bind"/> (HOST:PORT, [v6]:PORT; port 0 picks a free one) and starts serving.
    /// Throws <see cref="FormatException"/> or <see cref="SocketException"/> naming the flag.</summary>
    public static MetricsListener Start(string bind, Func<string> render)
    {
        var endPoint = ParseBind(bind);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            // SO_REUSEPORT: a USR2 master binds the same port while the old one still runs (same user only);
            // scrapes go to either until the old master exits.
            socket.SetRawSocketOption(1 /* SOL_SOCKET */, 15 /* SO_REUSEPORT */, BitConverter.GetBytes(1));
            socket.Bind(endPoint);
            socket.Listen(64);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new IOException($"--metrics-bind: cannot listen on {bind}: {e.Message}", e);
        }

        return new MetricsListener(socket, render);
    }

    public static IPEndPoint ParseBind(string bind)
    {
        ArgumentNullException.ThrowIfNull(bind);
        var colon = bind.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(bind.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new FormatException($"--metrics-bind: '{bind}' is not HOST:PORT");
        }

        var host = bind[..colon].Trim('[', ']');
        if (host == "localhost")
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }

        return IPAddress.TryParse(host, out var ip)
            ? new IPEndPoint(ip, port)
            : throw new FormatException($"--metrics-bind: '{host}' is not an IP address (use e.g. 127.0.0.1:9100)");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        try
        {
            await _accepting.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        _stop.Dispose();
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(ReadTimeout);
                var buffer = new byte[MaxRequestBytes];
                var length = 0;
                int headerEnd;
                while ((headerEnd = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
                {
                    if (length == buffer.Length)
                    {
                        await SendAsync(client, "431 Request Header Fields Too Large", "request too large\n").ConfigureAwait(false);
                        return;
                    }

                    var n = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        return;
                    }

                    length += n;
                }

                var lineEnd = buffer.AsSpan(0, headerEnd).IndexOf("\r\n"u8);
                var requestLine = Encoding.Latin1.GetString(buffer, 0, lineEnd >= 0 ? lineEnd : headerEnd);
                var parts = requestLine.Split(' ');
                if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
                {
                    await SendAsync(client, "400 Bad Request", "bad request\n").ConfigureAwait(false);
                }
                else if (parts[1] != "/metrics" && !parts[1].StartsWith("/metrics?", StringComparison.Ordinal))
                {
                    await SendAsync(client, "404 Not Found", "not found; metrics are at /metrics\n").ConfigureAwait(false);
                }
                else if (parts[0] is not ("GET" or "HEAD"))
                {
                    await SendAsync(client, "405 Method Not Allowed", "use GET\n", "Allow: GET, HEAD\r\n").ConfigureAwait(false);
                }
                else
                {
                    await SendAsync(client, "200 OK", _render(), contentType: PrometheusText.ContentType, head: parts[0] == "HEAD").ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A scraper that went away or stalled; nothing to answer.
            }
        }
    }

    private static async Task SendAsync(Socket client, string status, string body, string extraHeaders = "",
        string contentType = "text/plain; charset=utf-8", bool head = false)
    {
        var bodyBytes = Encoding.UTF8.GetBytes(body);
        var header = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"HTTP/1.1 {status}\r\nContent-Type: {contentType}\r\nContent-Length: {bodyBytes.Length}\r\nConnection: close\r\n{extraHeaders}\r\n"));
        await client.SendAsync(header, SocketFlags.None).ConfigureAwait(false);
        if (!head)
        {
            await client.SendAsync(bodyBytes, SocketFlags.None).ConfigureAwait(false);
        }

        client.Shutdown(SocketShutdown.Send);
    }
}
