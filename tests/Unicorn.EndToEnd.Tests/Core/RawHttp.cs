using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Unicorn.EndToEnd.Tests.Core;

/// <summary>Raw bytes to a server and the raw reply, read until the server closes the connection.</summary>
internal static class RawHttp
{
    public static string Send(int port, string request, double timeoutSeconds = 15, AddressFamily family = AddressFamily.InterNetwork)
        => Encoding.Latin1.GetString(Send(port, Encoding.Latin1.GetBytes(request), timeoutSeconds, family));

    public static byte[] Send(int port, byte[] request, double timeoutSeconds = 15, AddressFamily family = AddressFamily.InterNetwork)
    {
        using var socket = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        socket.ReceiveTimeout = (int)(timeoutSeconds * 1000);
        socket.Connect(family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, port);
        socket.Send(request);
        var response = new MemoryStream();
        var buffer = new byte[65536];
        try
        {
            int n;
            while ((n = socket.Receive(buffer)) > 0)
            {
                response.Write(buffer, 0, n);
            }
        }
        catch (SocketException)
        {
        }

        return response.ToArray();
    }

    /// <summary>The body of a response (after the blank line), de-chunked when it is chunked.</summary>
    public static string Body(string response)
    {
        var split = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(split >= 0, "no header section in: " + response);
        var head = response[..split];
        var body = response[(split + 4)..];
        if (!head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            return body;
        }

        var sb = new StringBuilder();
        var pos = 0;
        while (true)
        {
            var eol = body.IndexOf("\r\n", pos, StringComparison.Ordinal);
            var size = Convert.ToInt32(body[pos..eol].Split(';')[0], 16);
            if (size == 0)
            {
                return sb.ToString();
            }

            sb.Append(body, eol + 2, size);
            pos = eol + 2 + size + 2;
        }
    }
}
