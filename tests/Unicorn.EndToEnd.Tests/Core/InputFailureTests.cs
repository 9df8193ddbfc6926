using System.Net;
using System.Net.Sockets;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Core;

/// <summary>
/// A streamed body (over 1 MiB) the client leaves halfway: the app's <c>wsgi.input</c> read raises the same OSError,
/// worded the same, in every worker class (the greenlet workers' once said "unicorn: ", as a server error does).
/// </summary>
public sealed class InputFailureTests : IDisposable
{
    private readonly string _notes = Path.Combine(Path.GetTempPath(), $"unicorn-input-failure-{Guid.NewGuid():N}");

    public void Dispose() => File.Delete(_notes);

    [Theory]
    [InlineData("sync")]
    [InlineData("gthread")]
    [InlineData("gevent")]
    [InlineData("eventlet")]
    public void A_body_the_client_leaves_halfway_fails_the_read_with_the_clients_error(string workerClass)
    {
        var port = UnicornServer.FreePort();
        var env = new Dictionary<string, string> { ["INPUT_FAILURE_NOTES"] = _notes };
        using var server = UnicornServer.Start(env, "-k", workerClass, "-w", "1", "-b", $"127.0.0.1:{port}", "pyfixtures.input_failure:app");
        server.WaitUntilServing(port);

        using (var socket = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            socket.Connect(IPAddress.Loopback, port);
            socket.Send(System.Text.Encoding.ASCII.GetBytes("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4000000\r\n\r\n"));
            socket.Send(new byte[2_000_000]);
        }

        Assert.True(UnicornServer.Poll(() => File.Exists(_notes) && File.ReadAllText(_notes).Length > 0, 30), "the app's read never failed");
        Assert.Equal("OSError: client closed the connection before sending the whole body\n", File.ReadAllText(_notes));
    }
}
