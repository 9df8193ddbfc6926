using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Http;

/// <summary>
/// <c>min_request_body_rate</c>: a client trickling its body (one byte a second never trips a read's timeout) is cut
/// off once its rate falls below the minimum after the 5 s grace, so a few of them cannot hold every connection slot
/// of a worker; an upload above the rate is served whole.
/// </summary>
public sealed class SlowBodyTests : IDisposable
{
    private const string TooSlowLine = "[INFO] Request body arrived below min_request_body_rate";

    private readonly string _notes = Path.Combine(Path.GetTempPath(), $"unicorn-slow-body-{Guid.NewGuid():N}");

    public void Dispose() => File.Delete(_notes);

    /// <summary>
    /// Twelve clients each sending a 100,000-byte body (read before the app) two bytes a second fill the worker's ten
    /// slots; before the rate they held them for good, and a new client was never served.
    /// </summary>
    [Fact]
    public void Clients_trickling_bodies_are_cut_off_and_a_new_client_is_served()
    {
        var port = UnicornServer.FreePort();
        var env = new Dictionary<string, string> { ["INPUT_FAILURE_NOTES"] = _notes };
        using var server = UnicornServer.Start(env, "pyfixtures.input_failure:app", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", "gthread",
            "--threads", "2", "--worker-connections", "10");
        server.WaitUntilServing(port);

        var watch = Stopwatch.StartNew();
        var tricklers = Enumerable.Range(0, 12).Select(_ => Open(port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\na")).ToList();
        var closedAt = new TimeSpan?[tricklers.Count];
        var answered = new string?[tricklers.Count];
        // Threads with blocking calls, as ConnectionSlotTests: a busy test host's thread pool would skew the timing.
        var (response, servedAt) = ("", TimeSpan.Zero);
        var newClient = new Thread(() =>
        {
            Thread.Sleep(1000);
            response = Get(port, TimeSpan.FromSeconds(15));
            servedAt = watch.Elapsed;
        });
        newClient.Start();

        while (watch.Elapsed < TimeSpan.FromSeconds(16) && closedAt.Any(c => c is null))
        {
            Thread.Sleep(500);
            for (var i = 0; i < tricklers.Count; i++)
            {
                if (closedAt[i] is null && TrickleOrClosed(tricklers[i], out answered[i]))
                {
                    closedAt[i] = watch.Elapsed;
                }
            }
        }

        tricklers.ForEach(s => s.Dispose());
        newClient.Join();
        Assert.True(closedAt.All(c => c is not null), $"still open after {watch.Elapsed}: {closedAt.Count(c => c is null)}\n{server.Log}");
        // The grace (5 s) plus a busy machine's slack; the two clients beyond the ten slots waited in the listen
        // queue meanwhile, and their grace began when the worker read their heads.
        var cut = closedAt.Select(c => c!.Value).Order().ToList();
        Assert.True(cut[9] < TimeSpan.FromSeconds(9), $"cut off after {string.Join(", ", cut)}");
        Assert.True(cut[11] < TimeSpan.FromSeconds(15), $"cut off after {string.Join(", ", cut)}");
        Assert.All(answered, a => Assert.Equal("", a)); // nothing answered, as on a body read's timeout
        Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
        Assert.True(servedAt < TimeSpan.FromSeconds(10), $"served after {servedAt}");
        Assert.False(File.Exists(_notes)); // the app never ran for them
        server.WaitForLog(TooSlowLine, 12, 10);
        Assert.Contains($"{TooSlowLine} (240 bytes/s) from ip=127.0.0.1", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200 OK", Get(port, TimeSpan.FromSeconds(10)), StringComparison.Ordinal);
    }

    /// <summary>A body over 1 MiB streams to the app: the app's read fails as when the client goes away, and the app answers.</summary>
    [Fact]
    public void A_streamed_body_trickling_while_the_app_reads_fails_the_apps_read()
    {
        var port = UnicornServer.FreePort();
        var env = new Dictionary<string, string> { ["INPUT_FAILURE_NOTES"] = _notes };
        using var server = UnicornServer.Start(env, "pyfixtures.input_failure:app", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", "sync");
        server.WaitUntilServing(port);

        var watch = Stopwatch.StartNew();
        using var socket = Open(port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n" + new string('a', 1000));
        string? answered = null;
        while (watch.Elapsed < TimeSpan.FromSeconds(12) && !TrickleOrClosed(socket, out answered))
        {
            Thread.Sleep(500);
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(9), $"still open after {watch.Elapsed}\n{server.Log}");
        Assert.True(UnicornServer.Poll(() => File.Exists(_notes) && File.ReadAllText(_notes).Length > 0, 5), "the app's read never failed");
        Assert.Equal("OSError: Request body arrived below min_request_body_rate (240 bytes/s)\n", File.ReadAllText(_notes));
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200 OK", Get(port, TimeSpan.FromSeconds(10)), StringComparison.Ordinal);
    }

    /// <summary>
    /// With <c>--min-request-body-rate 2000</c> an upload at about 10,000 bytes/s for 6.5 s is served whole, while one at
    /// about 1,000 bytes/s (above the default 240) is cut off past the grace.
    /// </summary>
    [Fact]
    public void An_upload_above_the_set_rate_succeeds_and_one_below_it_is_cut_off()
    {
        var port = UnicornServer.FreePort();
        var env = new Dictionary<string, string> { ["INPUT_FAILURE_NOTES"] = _notes };
        using var server = UnicornServer.Start(env, "pyfixtures.input_failure:app", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", "gthread",
            "--threads", "2", "--min-request-body-rate", "2000");
        server.WaitUntilServing(port);

        const int Length = 65_000;
        var (fastResponse, slowResponse, slowCutAt) = ("", "", TimeSpan.Zero);
        var fast = new Thread(() => fastResponse = Upload(port, Length, 1000).Response);
        var slow = new Thread(() => (slowResponse, slowCutAt) = Upload(port, Length, 100));
        fast.Start();
        slow.Start();
        fast.Join();
        slow.Join();

        Assert.StartsWith("HTTP/1.1 200 OK", fastResponse, StringComparison.Ordinal);
        Assert.EndsWith("read", fastResponse, StringComparison.Ordinal);
        Assert.Equal("", slowResponse);
        Assert.True(slowCutAt < TimeSpan.FromSeconds(9), $"cut off after {slowCutAt}");
        Assert.Contains($"{TooSlowLine} (2000 bytes/s) from ip=127.0.0.1", server.Log, StringComparison.Ordinal);
    }

    /// <summary>Sends a body of <paramref name="length"/> bytes in pieces of <paramref name="piece"/> every 100 ms, then reads the answer.</summary>
    private static (string Response, TimeSpan At) Upload(int port, int length, int piece)
    {
        var watch = Stopwatch.StartNew();
        using var socket = Open(port, $"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {length}\r\n\r\n");
        try
        {
            for (var sent = 0; sent < length; sent += piece)
            {
                if (socket.Poll(0, SelectMode.SelectRead))
                {
                    break; // cut off (or answered) before the end
                }

                socket.Send(new byte[Math.Min(piece, length - sent)]);
                Thread.Sleep(100);
            }
        }
        catch (SocketException)
        {
            return ("", watch.Elapsed);
        }

        var response = ReadAll(socket);
        return (response, watch.Elapsed);
    }

    private static Socket Open(int port, string start)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 15_000 };
        socket.Connect(IPAddress.Loopback, port);
        socket.Send(Encoding.ASCII.GetBytes(start));
        return socket;
    }

    /// <summary>Sends one more body byte, unless the server has closed the connection (true; <paramref name="answered"/>: what it sent).</summary>
    private static bool TrickleOrClosed(Socket socket, out string? answered)
    {
        answered = null;
        try
        {
            if (socket.Poll(0, SelectMode.SelectRead))
            {
                answered = ReadAll(socket);
                return true;
            }

            socket.Send("a"u8.ToArray());
            return false;
        }
        catch (SocketException)
        {
            answered = "";
            return true;
        }
    }

    private static string ReadAll(Socket socket)
    {
        var response = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = socket.Receive(buffer)) > 0)
            {
                response.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        catch (SocketException)
        {
            // Reset after what it sent: that is the answer.
        }

        return response.ToString();
    }

    private static string Get(int port, TimeSpan timeout)
    {
        try
        {
            using var socket = Open(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
            return ReadAll(socket);
        }
        catch (SocketException e)
        {
            return $"socket error {e.SocketErrorCode}";
        }
    }
}
