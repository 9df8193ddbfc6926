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

    [Fact]
    public void A_refused_request_logs_what_gunicorns_handle_error_environ_holds()
    {
        // Gunicorn 26.1's line for the same request: default_environ has no HTTP_* and no PATH_INFO, nothing is counted as sent.
        var entry = AccessLogEntry.FromRefusedRequest("POST", "/echo?x=1", "/echo", "x=1", "HTTP/1.1",
            [new("User-Agent", "ua/1"), new("Referer", "http://r/"), new("Authorization", "Basic dXNlcjpwYXNz")],
            new IPEndPoint(IPAddress.Loopback, 45438), "400 Bad Request", DateTimeOffset.UnixEpoch);
        var line = AccessLogFormat.Parse("%(h)s %(l)s %(u)s \"%(r)s\" %(s)s %(b)s \"%(f)s\" \"%(a)s\" U=%(U)s q=%(q)s B=%(B)s ua=%({user-agent}i)s eua=%({http_user_agent}e)s raw=%({raw_uri}e)s port=%({remote_port}e)s pi=%({path_info}e)s").Format(entry);
        Assert.Equal("127.0.0.1 - - \"POST /echo?x=1 HTTP/1.1\" 400 0 \"-\" \"-\" U=None q=x=1 B=0 ua=ua/1 eua=- raw=/echo?x=1 port=45438 pi=-", line);
        Assert.Equal(400, entry.StatusCode);
        // Unicorn's own JSON format names the path and the fields the request had.
        var json = JsonAccessLogFormat.Format(entry);
        Assert.Contains("\"path\":\"/echo\"", json, StringComparison.Ordinal);
        Assert.Contains("\"status\":400,\"bytes\":0", json, StringComparison.Ordinal);
        Assert.Contains("\"user_agent\":\"ua/1\"", json, StringComparison.Ordinal);
    }
}
