using System.Net.Sockets;
using System.Text;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Asgi;

/// <summary>
/// A request that waits with nothing written (a long poll on Starlette's <c>is_disconnected()</c>, or any app awaiting
/// <c>receive()</c> after its body) hears that its client left, as under uvicorn; it heard of it only once it wrote.
/// </summary>
public sealed class AsgiLongPollTests : IDisposable
{
    private readonly int _port = UnicornServer.FreePort();
    private readonly UnicornServer _server;

    public AsgiLongPollTests()
    {
        _server = UnicornServer.Start("long_poll:app", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-w", "1", "-b", $"127.0.0.1:{_port}");
        _server.WaitUntilResponding(_port, "/gone");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_long_poll_that_has_written_nothing_ends_when_its_client_leaves(bool reset)
    {
        using (var client = new TcpClient("127.0.0.1", _port))
        {
            client.GetStream().Write(Encoding.ASCII.GetBytes("GET /poll HTTP/1.1\r\nHost: x\r\n\r\n"));
            Thread.Sleep(300);
            if (reset)
            {
                client.Client.LingerState = new LingerOption(true, 0);
            }
        }

        // The poll gives up after 30 s on its own; the client's leaving must end it well before.
        Assert.True(UnicornServer.Poll(() => UnicornServer.Get(_port, "/gone").Body == "1", 10), "the poll did not hear its client leave\n" + _server.Log);
    }

    [Fact]
    public void Over_http2_a_long_poll_ends_when_the_client_resets_its_stream()
    {
        using var certs = new Tls.TestCertificates();
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("long_poll:app", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-w", "1", "-b", $"127.0.0.1:{port}",
            "--http-protocols", "h2,h1", "--certfile", certs.ServerCert, "--keyfile", certs.ServerKey);
        server.WaitForLog("Booting worker with pid");
        var script = certs.Path("reset.py");
        File.WriteAllText(script, $$"""
            import socket, ssl, time
            import h2.config, h2.connection, h2.events

            ctx = ssl.create_default_context(cafile={{System.Text.Json.JsonSerializer.Serialize(certs.CaCert)}})
            ctx.set_alpn_protocols(["h2"])
            for _ in range(100):
                try:
                    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", {{port}})), server_hostname="localhost")
                    break
                except OSError:
                    time.sleep(0.2)
            c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            c.initiate_connection()

            def get(stream, path):
                c.send_headers(stream, [(":method", "GET"), (":path", path), (":scheme", "https"), (":authority", "x")], end_stream=True)
                s.sendall(c.data_to_send())

            get(1, "/poll")
            time.sleep(0.5)
            c.reset_stream(1)
            s.sendall(c.data_to_send())
            s.settimeout(10)
            # The poll checks every 50 ms; ask until it has heard of the reset (it would give up on its own after 30 s).
            for attempt in range(20):
                time.sleep(0.25)
                stream = 3 + 2 * attempt
                get(stream, "/gone")
                body, ended = b"", False
                while not ended:
                    for e in c.receive_data(s.recv(65535)):
                        if isinstance(e, h2.events.DataReceived) and e.stream_id == stream:
                            body += e.data
                        ended |= isinstance(e, h2.events.StreamEnded) and e.stream_id == stream
                    s.sendall(c.data_to_send())
                if body == b"1":
                    print("heard")
                    break
            """);
        var client = Tls.ExternalTool.Run(Environment.GetEnvironmentVariable("UNICORN_PYTHON") ?? "python3", [script]);
        Assert.True(client.Stdout.Contains("heard", StringComparison.Ordinal), client.All + server.Log);
    }

    [Fact]
    public void Asking_whether_the_client_left_does_not_disturb_the_connections_next_requests()
    {
        // Keep-alive and pipelining: the watch the first request started must not take the bytes of the next one.
        using var client = new TcpClient("127.0.0.1", _port);
        var stream = client.GetStream();
        stream.Write(Encoding.ASCII.GetBytes("GET /once HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.Contains("connected", ReadResponse(stream), StringComparison.Ordinal);
        stream.Write(Encoding.ASCII.GetBytes("GET /once HTTP/1.1\r\nHost: x\r\n\r\nGET /once HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.Contains("connected", ReadResponse(stream), StringComparison.Ordinal);
        Assert.Contains("connected", ReadResponse(stream), StringComparison.Ordinal);
        stream.Write(Encoding.ASCII.GetBytes("GET /gone HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        Assert.EndsWith("\r\n\r\n0", ReadResponse(stream), StringComparison.Ordinal);
    }

    // One response of a keep-alive connection, whose body is short and has a Content-Length.
    private static string ReadResponse(NetworkStream stream)
    {
        stream.ReadTimeout = 10_000;
        var text = new StringBuilder();
        var one = new byte[1];
        while (!text.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            Assert.Equal(1, stream.Read(one));
            text.Append((char)one[0]);
        }

        var length = text.ToString().Split("\r\n").First(l => l.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase)).Split(':')[1].Trim();
        var body = new byte[int.Parse(length, System.Globalization.CultureInfo.InvariantCulture)];
        stream.ReadExactly(body);
        return text + Encoding.ASCII.GetString(body);
    }

    public void Dispose() => _server.Dispose();
}
