using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Core;

namespace Unicorn.EndToEnd.Tests.Http;

/// <summary>
/// Bodies up to the buffered limit stay in the connection's receive buffers (8 KiB each) until the app
/// is done and are copied once, from there into Python. Bodies over many buffers, pipelined behind each
/// other on one keep-alive connection, must reach wsgi.input whole and in order, and the next request must
/// be parsed from exactly where the previous body ended.
/// </summary>
public sealed class BufferedBodyTests
{
    private static string Pattern(int length, int seed) =>
        string.Create(length, seed, static (span, s) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                // Printable, never a CR, with a newline now and then for readline; differs by seed.
                span[i] = i % 97 == 96 ? '\n' : (char)('!' + ((i * 31) + (s * 17) + (i / 4096)) % 90);
            }
        });

    [Theory]
    [InlineData("sync")]
    [InlineData("gthread")]
    public void Pipelined_bodies_over_many_receive_buffers_reach_the_app_whole(string workerClass)
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.bridge_apps:echo_input", "-b", $"127.0.0.1:{port}", "-w", "1", "-k", workerClass, "--threads", "2");
        server.WaitUntilServing(port);
        var first = Pattern(100_000, 1);
        var second = Pattern(50_001, 2);
        var third = Pattern(8_192, 3);
        var request =
            $"POST /?read HTTP/1.1\r\nHost: x\r\nContent-Length: {first.Length}\r\n\r\n{first}" +
            $"POST /?readline HTTP/1.1\r\nHost: x\r\nContent-Length: {second.Length}\r\n\r\n{second}" +
            $"POST /?read:7000 HTTP/1.1\r\nHost: x\r\nContent-Length: {third.Length}\r\nConnection: close\r\n\r\n{third}";
        var response = RawHttp.Send(port, request, timeoutSeconds: 60);

        var answers = response.Split("HTTP/1.1 200 OK\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.True(answers.Length == 3, $"expected 3 responses, got {answers.Length}: {response[..Math.Min(300, response.Length)]}\n{server.Log}");
        Assert.Equal(first, RawHttp.Body(answers[0]));
        var lines = second.Split('\n');
        var expectedLines = string.Concat(lines.Select((line, i) => "[" + line + (i < lines.Length - 1 ? "\n" : "") + "]")) + "[]";
        Assert.Equal(expectedLines, RawHttp.Body(answers[1]));
        Assert.Equal("[" + third[..7000] + "][" + third[7000..] + "][]", RawHttp.Body(answers[2]));
    }
}
