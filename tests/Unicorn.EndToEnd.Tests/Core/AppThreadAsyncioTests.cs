using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Core;

/// <summary>
/// <c>asyncio.get_event_loop()</c> in a sync worker's request: Gunicorn calls the app on the main thread, where Python
/// (before 3.14) makes a loop when none is set, so old sync code runs coroutines with
/// <c>get_event_loop().run_until_complete()</c>. Unicorn's app thread is not the main thread (that one runs .NET);
/// it makes the loop there as well. gthread's threads make none, under both servers.
/// </summary>
public sealed class AppThreadAsyncioTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_sync_request_gets_an_event_loop_from_get_event_loop(bool asyncioAtImport)
    {
        var port = UnicornServer.FreePort();
        var env = new Dictionary<string, string> { ["ASYNCIO_AT_IMPORT"] = asyncioAtImport ? "1" : "" };
        using var server = UnicornServer.Start(env, "-w", "1", "-b", $"127.0.0.1:{port}", "pyfixtures.sync_asyncio:app");
        server.WaitUntilServing(port);

        // Twice: the loop made by the first request is the thread's, kept for the next.
        for (var i = 0; i < 2; i++)
        {
            var (status, body) = UnicornServer.Get(port, "/");
            Assert.Equal(200, status);
            Assert.Equal("coroutine ran, same loop: True", body);
        }
    }

    [Fact]
    public void A_gthread_request_gets_none_as_under_gunicorn()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("-w", "1", "-k", "gthread", "--threads", "2", "-b", $"127.0.0.1:{port}",
            "pyfixtures.sync_asyncio:app");
        server.WaitUntilServing(port);

        var (status, body) = UnicornServer.Get(port, "/");
        Assert.Equal(200, status);
        Assert.StartsWith("RuntimeError: There is no current event loop in thread", body, StringComparison.Ordinal);
    }
}
