using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Core;

namespace Unicorn.EndToEnd.Tests.Asgi;

/// <summary>Starlette's lifespan state and graceful stop, and Django's ASGI handler with an async view, under -k asgi.</summary>
public sealed class StarletteAndDjangoTests
{
    private const string Close = "Connection: close\r\n";

    [Fact]
    public void Lifespan_state_reaches_every_request_and_shutdown_runs_on_term()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("starlette_app:app", "--chdir", "pyfixtures/asgi", "-k", "asgi", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/state");

        Assert.Equal((200, "{\"db\":\"connected\",\"counter\":42}"), UnicornServer.Get(port, "/state"));
        Assert.Equal((200, "{\"db\":\"connected\",\"counter\":42}"), UnicornServer.Get(port, "/state")); // a copy per request
        var echo = RawHttp.Send(port, $"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n{Close}\r\nhello");
        Assert.Equal("hello", RawHttp.Body(echo));

        server.Signal(UnicornServer.SIGTERM);
        Assert.Equal(0, server.WaitForExit(60));
        Assert.Contains("lifespan: startup", server.Lines);
        Assert.Contains("lifespan: shutdown ran", server.Lines);
    }

    [Fact]
    public void Max_requests_recycles_an_asgi_worker_after_its_lifespan_shutdown()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(
            "starlette_app:app", "--chdir", "pyfixtures/asgi", "-k", "asgi", "--max-requests", "3", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/state");
        var first = server.Workers().Single();

        for (var i = 0; i < 3; i++)
        {
            UnicornServer.Get(port, "/state");
        }

        server.WaitForLog("Autorestarting worker after current request.");
        server.WaitForLog("lifespan: shutdown ran");
        Assert.True(UnicornServer.Poll(() => server.Workers() is [var w] && w != first, 60), "no replacement worker");
        server.WaitUntilResponding(port, "/state");
        Assert.Equal((200, "{\"db\":\"connected\",\"counter\":42}"), UnicornServer.Get(port, "/state"));
    }

    [Fact]
    public void Djangos_asgi_handler_serves_an_async_view()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start(
            "djangoproj.asgi", "--chdir", "pyfixtures/djangoproj", "--env", "DJANGO_SETTINGS_MODULE=djangoproj.settings",
            "-k", "asgi", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/async/");

        Assert.Equal((200, "async hello bob"), UnicornServer.Get(port, "/async/?name=bob"));
        Assert.Equal(404, UnicornServer.Get(port, "/no-such-page/").Status);
    }
}
