using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// SERVER_NAME/SERVER_PORT as Gunicorn 20.1 and 26.1 set them: a TCP listener's own address whatever the
/// Host header says (Django's debug page and apps that build URLs from SERVER_* saw the client's Host
/// here before); on a unix socket, which has no host or port, the Host header, else the socket's path.
/// </summary>
public class ServerNameTests
{
    private static void Echo(WsgiRequest request, IResponseSink response)
    {
        var body = Encoding.ASCII.GetBytes($"name={request.ServerName} port={request.ServerPort}");
        response.SetResponse("200 OK", [new("Content-Length", body.Length.ToString(CultureInfo.InvariantCulture))]);
        response.Write(body);
    }

    [Fact]
    public async Task Over_tcp_the_listeners_address_whatever_the_host_header_says()
    {
        await using var h = new WorkerHarness(Echo);
        var port = h.Port.ToString(CultureInfo.InvariantCulture);
        Assert.EndsWith($"name=127.0.0.1 port={port}",
            await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: example.com:9999\r\nConnection: close\r\n\r\n"), StringComparison.Ordinal);
        Assert.EndsWith($"name=127.0.0.1 port={port}",
            await h.ExchangeAsync("GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"), StringComparison.Ordinal);
        Assert.EndsWith($"name=127.0.0.1 port={port}",
            await h.ExchangeAsync("GET / HTTP/1.0\r\n\r\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Over_a_unix_socket_the_host_header_else_the_path()
    {
        var path = Path.Combine(Path.GetTempPath(), $"unicorn-servername-{Guid.NewGuid():N}.sock");
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(16);
        var worker = new Worker(TestSettings.Defaults(), [listener], new FakeApp(Echo), new StderrErrorLog(LogLevel.Debug, TextWriter.Null));
        var run = worker.RunAsync();
        try
        {
            Assert.EndsWith("name=example.com port=9999", await Exchange(path, "GET / HTTP/1.1\r\nHost: example.com:9999\r\nConnection: close\r\n\r\n"), StringComparison.Ordinal);
            Assert.EndsWith("name=example.com port=80", await Exchange(path, "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"), StringComparison.Ordinal);
            Assert.EndsWith($"name={path} port=", await Exchange(path, "GET / HTTP/1.0\r\n\r\n"), StringComparison.Ordinal);
        }
        finally
        {
            worker.StopNow();
            listener.Dispose();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
            File.Delete(path);
        }
    }

    private static async Task<string> Exchange(string path, string request)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(path));
        await s.SendAsync(Encoding.Latin1.GetBytes(request));
        return await WorkerHarness.ReadUntilClosedAsync(s, TimeSpan.FromSeconds(10));
    }
}
