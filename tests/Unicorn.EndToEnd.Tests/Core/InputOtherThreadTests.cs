using System.Globalization;
using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Core;

/// <summary>
/// wsgi.input read on another thread than the request's: what a Django <c>async def</c> view does under a WSGI worker
/// (asgiref runs it on an event loop in a thread of its own, where <c>request.body</c> reads). A streamed body (over
/// 1 MiB) once failed there with "wsgi.input read outside the thread of its request", a 500 where Gunicorn answers.
/// </summary>
public sealed class InputOtherThreadTests
{
    [Theory]
    [InlineData("sync", 2_500_000)]
    [InlineData("gthread", 2_500_000)]
    [InlineData("sync", 1000)]
    public async Task A_body_read_on_another_thread_arrives_whole(string workerClass, int size)
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("-k", workerClass, "--threads", workerClass == "gthread" ? "2" : "1", "-w", "1", "-b", $"127.0.0.1:{port}",
            "pyfixtures.input_other_thread:app");
        server.WaitUntilServing(port);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        var body = new byte[size];
        new Random(5).NextBytes(body);

        using var content = new ByteArrayContent(body);
        using var response = await client.PostAsync("/", content);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal($"{size.ToString(CultureInfo.InvariantCulture)} {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body))}",
            await response.Content.ReadAsStringAsync());
    }
}
