using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Core;

/// <summary>
/// A sync app that patches with gevent at import (as <c>import grequests</c> does) and runs a child process: gevent
/// gives the default loop, the only one that can watch children, to the thread that imported it, which under Gunicorn
/// is the one that calls the app. Unicorn's app thread is another (the boot thread runs .NET), and it takes that role.
/// </summary>
public sealed class AppThreadGeventTests
{
    [Theory]
    [InlineData("")]
    [InlineData("--preload")] // imported in the zygote, whose patched sockets made a hub there before the fork
    [InlineData("--worker-spares")] // a promoted spare, whose warm-up thread attached after the thread that serves
    public void A_sync_request_of_an_app_patched_at_import_can_run_a_child(string mode)
    {
        var port = UnicornServer.FreePort();
        List<string> args = ["-w", "1", "-b", $"127.0.0.1:{port}", "pyfixtures.sync_gevent_patched:app"];
        if (mode == "--preload")
        {
            args.Insert(0, mode);
        }
        else if (mode == "--worker-spares")
        {
            args.InsertRange(0, [mode, "1", "--log-level", "debug"]);
        }

        using var server = UnicornServer.Start([.. args]);
        server.WaitUntilServing(port);
        if (mode == "--worker-spares")
        {
            server.WaitForLog("parked", 1, 120);
            server.Signal(UnicornServer.SIGTTIN);
            server.WaitForLog("Promoted spare worker", 1, 60);
        }

        // Enough requests that both workers of the spare case answer some.
        for (var i = 0; i < 8; i++)
        {
            var (status, body) = UnicornServer.Get(port, "/");
            Assert.Equal(200, status);
            Assert.Equal("greenlet ran, child ran", body);
        }
    }
}
