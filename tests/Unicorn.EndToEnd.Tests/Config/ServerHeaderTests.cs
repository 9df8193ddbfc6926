using Unicorn.EndToEnd.Tests.Core;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Config;

/// <summary>
/// Gunicorn's way to hide the server's name: the config file sets <c>gunicorn.SERVER</c>, which Gunicorn sends as its
/// Server header.
/// </summary>
public sealed class ServerHeaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unicorn-server-header-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("import gunicorn\ngunicorn.SERVER = \"hidden\"\n", "hidden")]
    [InlineData("import gunicorn\nworkers = 1\n", "unicorn")] // imported, not changed
    public void The_config_files_gunicorn_SERVER_is_the_Server_header(string config, string expected)
    {
        var file = Path.Combine(_dir, "gunicorn.conf.py");
        File.WriteAllText(file, config);
        var port = FreePort();
        using var server = Start("-c", file, "-w", "2", "-b", $"127.0.0.1:{port}", "pyfixtures.hello:app");
        server.WaitUntilServing(port);
        for (var i = 0; i < 4; i++)
        {
            var response = RawHttp.Send(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            Assert.Contains($"\r\nServer: {expected}\r\n", response, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_SERVER_that_would_end_the_header_line_stops_the_server_with_one_line()
    {
        var file = Path.Combine(_dir, "gunicorn.conf.py");
        File.WriteAllText(file, "import gunicorn\ngunicorn.SERVER = \"x\\r\\nSet-Cookie: a=b\"\n");
        using var server = Start("-c", file, "-b", $"127.0.0.1:{FreePort()}", "pyfixtures.hello:app");
        Assert.NotEqual(0, server.WaitForExit());
        Assert.Contains($"unicorn: gunicorn.SERVER in {file} is not a header value", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
    }
}
