using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Tests.Http;
using Unicorn.Wsgi.Workers;
using Unicorn.Wsgi.Workers.Hosts;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// A greenlet's whole small response (respond()) on a plain socket: when the socket takes it all at once it is
/// written and finished on the calling thread (the hub), with no drain on the thread pool; when the socket is
/// full, the rest drains off the hub as any write does and reaches a slow reader intact.
/// </summary>
public sealed class GreenletImmediateResponseTests
{
    private static readonly IErrorLog s_log = new StderrErrorLog(LogLevel.Debug, TextWriter.Null);

    [Fact]
    public async Task A_response_the_socket_takes_at_once_is_finished_on_the_calling_thread()
    {
        var (client, server) = await ConnectedPairAsync(bufferSize: null);
        using var clientSocket = client;
        using var stream = new NetworkStream(server, ownsSocket: true);
        using var sink = new ResponseSink(stream, Harness.Head("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), forceClose: false);
        var finishedOn = -1;
        var exchange = new GreenletExchange(5, GreenletExchangeTests.Request(), sink,
            new GreenletExchange.Hub(_ => { }, _ => finishedOn = Environment.CurrentManagedThreadId, s_log));

        exchange.SetResponse("200 OK", [new("Content-Length", "5")]);
        Assert.Equal(GreenletWrite.Accepted, exchange.Respond("hello"u8));

        // Done before Respond returned, on this thread: no thread-pool hand-off.
        Assert.True(exchange.Completion.IsCompletedSuccessfully);
        Assert.Equal(Environment.CurrentManagedThreadId, finishedOn);
        Assert.True(sink.KeepAlive);
        Assert.Equal(5, sink.BodyBytesSent);

        var text = Encoding.Latin1.GetString(await ReadAsync(client, untilEndsWith: "hello"u8.ToArray(), TimeSpan.FromSeconds(20)));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nhello", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_response_larger_than_the_socket_buffer_drains_off_the_caller_to_a_slow_reader_intact()
    {
        var (client, server) = await ConnectedPairAsync(bufferSize: 4096);
        using var clientSocket = client;
        using var stream = new NetworkStream(server, ownsSocket: true);
        using var sink = new ResponseSink(stream, Harness.Head("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), forceClose: false);
        var respondReturned = false;
        var finishedAfterRespondReturned = false;
        var exchange = new GreenletExchange(6, GreenletExchangeTests.Request(), sink,
            new GreenletExchange.Hub(_ => { }, _ => finishedAfterRespondReturned = Volatile.Read(ref respondReturned), s_log));
        var body = new byte[64 * 1024];
        for (var i = 0; i < body.Length; i++)
        {
            body[i] = (byte)(i * 7 % 251);
        }

        exchange.SetResponse("200 OK", [new("Content-Length", body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        Assert.Equal(GreenletWrite.Accepted, exchange.Respond(body)); // returns at once though the client reads nothing yet
        Volatile.Write(ref respondReturned, true);
        Assert.False(exchange.Completion.IsCompleted);

        var received = await ReadAsync(client, untilEndsWith: body[^64..], TimeSpan.FromSeconds(60), slow: true);
        await exchange.Completion.WaitAsync(TimeSpan.FromSeconds(30));

        var headEnd = received.AsSpan().IndexOf("\r\n\r\n"u8) + 4;
        Assert.True(headEnd > 4);
        Assert.Equal(body, received[headEnd..]);
        // The drain finished it after the caller had its answer. (Not "on another thread": the test's own thread is a
        // pool thread, which may run the drain once it awaits; that failed one CI run.)
        Assert.True(finishedAfterRespondReturned);
        Assert.True(sink.KeepAlive);
        Assert.Equal(body.Length, sink.BodyBytesSent);
    }

    private static async Task<(Socket Client, Socket Server)> ConnectedPairAsync(int? bufferSize)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (bufferSize is { } size)
        {
            client.ReceiveBufferSize = size;
        }

        await client.ConnectAsync(listener.LocalEndPoint!);
        var server = await listener.AcceptAsync();
        if (bufferSize is { } sendSize)
        {
            server.SendBufferSize = sendSize;
        }

        return (client, server);
    }

    private static async Task<byte[]> ReadAsync(Socket client, byte[] untilEndsWith, TimeSpan timeout, bool slow = false)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var received = new MemoryStream();
        var buffer = new byte[slow ? 1024 : 64 * 1024];
        while (!received.ToArray().AsSpan().EndsWith(untilEndsWith))
        {
            if (slow)
            {
                await Task.Delay(5, cancel.Token);
            }

            var n = await client.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
            Assert.True(n > 0, "the server closed the connection early");
            received.Write(buffer, 0, n);
        }

        return received.ToArray();
    }
}
