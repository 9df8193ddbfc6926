using System.Net;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Tests.Logging;

public class RequestEntryTests
{
    private static WsgiRequest Request(IPEndPoint? peer, string scriptName = "") => new()
    {
        Method = "GET",
        RawUri = "/app/a%20b%e9%zz?x=1",
        Path = "/app/a%20b%e9%zz",
        Query = "x=1",
        Protocol = "HTTP/1.1",
        VersionMinor = 1,
        Headers = [new("Host", "example.com"), new("X-Forwarded-For", "1.1.1.1"), new("x-forwarded-for", "2.2.2.2"), new("Content-Type", "text/plain")],
        Body = RequestBody.Empty,
        RemoteEndPoint = peer,
        ServerName = "example.com",
        ServerPort = "80",
        ScriptName = scriptName,
        ExtraEnviron = [new("SSL_CLIENT_S_DN", "CN=me")],
    };

    [Fact]
    public void From_request_decodes_path_info_and_exposes_environ_like_gunicorn()
    {
        var entry = AccessLogEntry.FromRequest(Request(new IPEndPoint(IPAddress.Parse("10.0.0.9"), 51000), "/app"), "200 OK", 12,
            [new("Content-Type", "text/html")], DateTimeOffset.UnixEpoch, TimeSpan.FromMilliseconds(5));
        var line = AccessLogFormat.Parse("%(h)s|%(U)s|%(q)s|%({http_x_forwarded_for}e)s|%({CONTENT_TYPE}e)s|%({remote_port}e)s|%({script_name}e)s|%({ssl_client_s_dn}e)s|%({wsgi.url_scheme}e)s|%({server_port}e)s").Format(entry);
        Assert.Equal("10.0.0.9|/a b\u00e9%zz|x=1|1.1.1.1,2.2.2.2|text/plain|51000|/app|CN=me|http|80", line);
    }

    [Fact]
    public void A_unix_socket_peer_has_an_empty_remote_address()
    {
        var entry = AccessLogEntry.FromRequest(Request(null), "204 No Content", 0, [], DateTimeOffset.UnixEpoch, TimeSpan.Zero);
        Assert.Equal("|/app/a b\u00e9%zz|0", AccessLogFormat.Parse("%(h)s|%(U)s|%(b)s").Format(entry));
    }
}
