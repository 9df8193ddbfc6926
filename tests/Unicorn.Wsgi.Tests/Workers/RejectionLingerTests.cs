using System.Net.Sockets;
using System.Text;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// A refused request whose client is still sending (the rest of a request line over limit_request_line, a body
/// behind bad headers): closing at once would reset the connection over the unread bytes, and a client still
/// sending would lose the 400. The worker lingers as after an unread upload: FIN after the 400, then it drops
/// what still arrives.
/// </summary>
public sealed class RejectionLingerTests
{
    [Fact]
    public async Task A_client_still_sending_behind_a_refused_request_line_reads_its_400()
    {
        await using var harness = new WorkerHarness(FakeApp.Ok);
        using var s = await harness.ConnectAsync();

        var sendFailed = "";
        await s.SendAsync(Encoding.ASCII.GetBytes("GET /" + new string('a', 10_000)));
        var more = new byte[1 << 20];
        try
        {
            for (var i = 0; i < 32; i++)
            {
                await s.SendAsync(more);
            }
        }
        catch (SocketException e)
        {
            sendFailed = e.SocketErrorCode.ToString(); // curl and requests stop here, and never read the answer
        }

        var response = await WorkerHarness.ReadUntilClosedAsync(s, TimeSpan.FromSeconds(10));

        Assert.Equal("", sendFailed);
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", response, StringComparison.Ordinal);
    }
}
