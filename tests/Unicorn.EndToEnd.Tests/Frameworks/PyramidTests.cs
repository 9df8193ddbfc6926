using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Core;

namespace Unicorn.EndToEnd.Tests.Frameworks;

/// <summary>A Pyramid app loaded the PasteDeploy way: <c>unicorn --paste development.ini</c>.</summary>
public sealed class PyramidTests
{
    [Fact]
    public void A_pyramid_app_is_served_from_paste_ini_with_its_settings()
    {
        var port = UnicornServer.FreePort();
        using var server = UnicornServer.Start("--paste", "pyfixtures/pyramid_app/development.ini", "--chdir", "pyfixtures", "-b", $"127.0.0.1:{port}");
        server.WaitUntilResponding(port, "/");
        var response = RawHttp.Send(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
        // "greeting = bonjour" comes from [app:main] of the ini, through PasteDeploy to the factory.
        Assert.Equal("bonjour from pyramid, scheme=http\n", RawHttp.Body(response));
        var missing = RawHttp.Send(port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 404", missing, StringComparison.Ordinal);
    }
}
