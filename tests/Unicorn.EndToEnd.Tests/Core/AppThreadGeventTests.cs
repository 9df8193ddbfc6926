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
    [InlineData(false)]
    [InlineData(true)] // imported in the zygote, whose patched sockets made a hub there before the fork
    public void A_sync_request_of_an_app_patched_at_import_can_run_a_child(bool preload)
    {
        var port = UnicornServer.FreePort();
        string[] args = ["-w", "1", "-b", $"127.0.0.1:{port}", "pyfixtures.sync_gevent_patched:app"];
        using var server = UnicornServer.Start(preload ? ["--preload", .. args] : args);
        server.WaitUntilServing(port);

        for (var i = 0; i < 2; i++)
        {
            var (status, body) = UnicornServer.Get(port, "/");
            Assert.Equal(200, status);
            Assert.Equal("greenlet ran, child ran", body);
        }
    }
}
