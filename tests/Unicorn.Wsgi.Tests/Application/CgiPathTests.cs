using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Tests.Application;

/// <summary>SCRIPT_NAME/PATH_INFO by Gunicorn 26.1's rule (http/wsgi.py: SCRIPT_NAME stripped as a prefix).</summary>
public sealed class CgiPathTests
{
    [Theory]
    [InlineData("/app/x", "/app", "/x")]
    [InlineData("/app/x", "", "/app/x")]
    [InlineData("/x/app/y", "/app", "/x/app/y")] // only a prefix counts (Gunicorn 20.1 cut here; 26.1 answers 500)
    [InlineData("/app/app/y", "/app", "/app/y")]
    [InlineData("/other", "/app", "/other")] // Gunicorn 26.1 answers 500 here; Unicorn keeps the path
    public void PATH_INFO_is_the_path_without_its_SCRIPT_NAME_prefix(string path, string scriptName, string expected) =>
        Assert.Equal(expected, CgiPath.RawPathInfo(path, scriptName).ToString());

    [Theory]
    [InlineData("/a%20b", "/a b")]
    [InlineData("/%41%62c", "/Abc")]
    [InlineData("/%e9t%C3%A9", "/\u00e9t\u00c3\u00a9")] // each byte to its latin-1 char, as unquote_to_wsgi_str
    [InlineData("/100%", "/100%")]
    [InlineData("/%4", "/%4")]
    [InlineData("/%zz", "/%zz")]
    public void Percent_escapes_decode_to_latin1_and_stray_percents_stay(string text, string expected) =>
        Assert.Equal(expected, CgiPath.PercentDecode(text));

    [Fact]
    public void The_request_SCRIPT_NAME_wins_over_the_default()
    {
        Assert.Equal("/req", CgiPath.ScriptName(Request("/req/x", "/req"), "/env"));
        Assert.Equal("/env", CgiPath.ScriptName(Request("/env/x", ""), "/env"));
    }

    [Fact]
    public void The_access_log_sees_the_PATH_INFO_the_app_sees()
    {
        var request = Request("/app/a%20b", "/app");
        Assert.Equal("/a b", RequestEnviron.PathInfo(request));
        Assert.Equal("/app", RequestEnviron.Build(request)["SCRIPT_NAME"]);
    }

    private static WsgiRequest Request(string path, string scriptName) => new()
    {
        Method = "GET",
        RawUri = path,
        Path = path,
        Query = "",
        Protocol = "HTTP/1.1",
        VersionMinor = 1,
        Headers = [],
        Body = RequestBody.Empty,
        ServerName = "localhost",
        ServerPort = "80",
        ScriptName = scriptName,
    };
}
