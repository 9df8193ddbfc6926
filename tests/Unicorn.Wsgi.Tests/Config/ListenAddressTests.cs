using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

public class ListenAddressTests
{
    [Theory]
    [InlineData("127.0.0.1:9000", "127.0.0.1", 9000)]
    [InlineData("127.0.0.1", "127.0.0.1", 8000)]
    [InlineData("tcp://0.0.0.0:80", "0.0.0.0", 80)]
    [InlineData("[::1]:8001", "::1", 8001)]
    [InlineData("[::1]", "::1", 8000)]
    [InlineData("LOCALHOST:5", "localhost", 5)]
    [InlineData(":8080", "", 8080)]
    [InlineData("", "0.0.0.0", 8000)]
    public void ParsesTcp(string bind, string host, int port)
    {
        var a = ListenAddress.Parse(bind);
        Assert.Equal(ListenAddressKind.Tcp, a.Kind);
        Assert.Equal(host, a.Host);
        Assert.Equal(port, a.Port);
    }

    [Theory]
    [InlineData("unix:/tmp/x.sock", "/tmp/x.sock")]
    [InlineData("unix:///run/app.sock", "/run/app.sock")]
    [InlineData("unix:rel.sock", "rel.sock")]
    public void ParsesUnix(string bind, string path)
    {
        var a = ListenAddress.Parse(bind);
        Assert.Equal(ListenAddressKind.Unix, a.Kind);
        Assert.Equal(path, a.Path);
    }

    [Fact]
    public void ParsesFd() => Assert.Equal(7, ListenAddress.Parse("fd://7").Fd);

    [Theory]
    [InlineData("127.0.0.1:http")]
    [InlineData("127.0.0.1:70000")]
    [InlineData("127.0.0.1:-1")]
    [InlineData("::1:8000")]
    [InlineData("[::1")]
    [InlineData("[nothex]:80")]
    [InlineData("fd://x")]
    [InlineData("unix:")]
    public void RejectsMalformed(string bind) => Assert.Throws<FormatException>(() => ListenAddress.Parse(bind));

    [Theory]
    [InlineData("http://127.0.0.1:8000")]
    [InlineData("https://[::1]:443")]
    public void A_url_is_refused_naming_the_forms_a_bind_takes(string bind) =>
        Assert.Equal($"'{bind}' is not a valid address (a bind is HOST:PORT, tcp://HOST:PORT, unix:PATH or fd://FD)",
            Assert.Throws<FormatException>(() => ListenAddress.Parse(bind)).Message);

    [Fact]
    public void PrintsAsGunicornDoes()
    {
        Assert.Equal("('127.0.0.1', 8000)", ListenAddress.Parse("127.0.0.1:8000").ToPythonRepr());
        Assert.Equal("[::1]:8000", ListenAddress.Parse("[::1]:8000").ToString());
    }
}
