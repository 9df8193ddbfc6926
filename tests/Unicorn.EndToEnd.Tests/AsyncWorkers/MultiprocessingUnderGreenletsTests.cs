using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.AsyncWorkers;

/// <summary>
/// An app that imports multiprocessing (tornado does) boots under the greenlet workers. Unicorn sets multiprocessing to
/// forkserver (fork breaks a .NET process), which needs socket.sendmsg; eventlet's green socket has none, so there it
/// falls back to spawn, also fork-free, instead of failing the worker's boot.
/// </summary>
public sealed class MultiprocessingUnderGreenletsTests
{
    [Theory]
    [InlineData("gevent", "forkserver")]
    [InlineData("eventlet", "spawn")]
    public void The_app_boots_with_a_start_method_that_does_not_fork(string workerClass, string method)
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("pyfixtures.bridge_apps:start_method", "-b", $"127.0.0.1:{port}", "-k", workerClass);
        server.WaitUntilServing(port);

        var result = ExternalTool.Curl($"http://127.0.0.1:{port}/");
        Assert.True(result.ExitCode == 0, result.All + server.Log);
        Assert.Equal(method, result.Stdout);
        Assert.DoesNotContain("Worker failed to boot", server.Log, StringComparison.Ordinal);
    }
}
