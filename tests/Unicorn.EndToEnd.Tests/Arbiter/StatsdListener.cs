using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>A statsd server on a loopback UDP port: keeps every metric line it receives.</summary>
public sealed class StatsdListener : IDisposable
{
    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly Task _loop;

    public StatsdListener()
    {
        _loop = Task.Run(ReceiveAsync);
    }

    public int Port => ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;

    /// <summary>Each line received so far (a packet may carry several, newline-separated).</summary>
    public IReadOnlyCollection<string> Received => _lines.ToArray();

    private async Task ReceiveAsync()
    {
        while (true)
        {
            UdpReceiveResult packet;
            try
            {
                packet = await _udp.ReceiveAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                return;
            }

            foreach (var line in Encoding.UTF8.GetString(packet.Buffer).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                _lines.Enqueue(line);
            }
        }
    }

    public void Dispose()
    {
        _udp.Dispose();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
