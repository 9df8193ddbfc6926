using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Tests.Logging;

public class AccessLogFormatTests
{
    private static string Format(string format, AccessLogEntry? entry = null) =>
        AccessLogFormat.Parse(format).Format(entry ?? Entries.Sample());

    [Fact]
    public void Combined_atoms_escape_quotes_like_gunicorn() =>
        Assert.Equal(
            "127.0.0.1 - user \"GET /p%20a?x=1&y=\\\"2\\\" HTTP/1.1\" 200 1234 \"http://r/\" \"curl/8 \\\"x\\\"\"",
            Format("%(h)s %(l)s %(u)s \"%(r)s\" %(s)s %(b)s \"%(f)s\" \"%(a)s\""));

    [Fact]
    public void Request_and_timing_atoms() =>
        Assert.Equal(
            "GET|/p a|x=1&y=\\\"2\\\"|HTTP/1.1|1234|2|2345678|2345|2.345678",
            Format("%(m)s|%(U)s|%(q)s|%(H)s|%(B)s|%(T)s|%(D)s|%(M)s|%(L)s"));

    [Fact]
    public void Header_and_environ_atoms_are_case_insensitive_last_wins_and_control_bytes_pass_through() =>
        Assert.Equal(
            "example.com|a\u0001b\tc\u007fd\u00e9|2|text/plain|a\\\"b|2|-|http|127.0.0.1|-|-",
            Format("%({host}i)s|%({X-CTL}i)s|%({x-dup}i)s|%({content-type}o)s|%({x-quote}o)s|%({X-Dup}o)s|%({missing}i)s|%({wsgi.url_scheme}e)s|%({REMOTE_ADDR}e)s|%(zz)s|%({x}z)s"));

    [Fact]
    public void Python_conversions_flags_width_and_precision() =>
        Assert.Equal(
            "'127.0.0.1' 'curl/8 \\\\\"x\\\\\"' 2 02345678 2345  |  127.0.0.1|127.0.0.1 |127|2 % 1234.0",
            Format("%(h)r %(a)r %(T)d %(D)08d %(M)-6d| %(h)10s|%(h)-10s|%(h).3s|%(T)x %% %(B)5.1f"));

    [Fact]
    public void Time_atom_is_apache_common_log_format_at_the_end_of_the_request()
    {
        var start = new DateTimeOffset(2026, 11, 27, 20, 29, 58, TimeZoneInfo.Local.GetUtcOffset(new DateTime(2026, 11, 27, 20, 30, 0)));
        var entry = Entries.Sample(duration: TimeSpan.FromSeconds(2));
        entry = new AccessLogEntry
        {
            Method = entry.Method,
            RawUri = entry.RawUri,
            Path = entry.Path,
            Protocol = entry.Protocol,
            Status = entry.Status,
            StartTime = start,
            Duration = entry.Duration,
        };
        Assert.Equal($"[27/Nov/2026:20:30:00 {ErrorLogLine.Offset(start.Offset)}]", Format("%(t)s", entry));
    }

    [Fact]
    public void Pid_status_word_and_missing_values()
    {
        var entry = new AccessLogEntry
        {
            Method = "POST",
            RawUri = "/",
            Path = "/",
            Protocol = "HTTP/1.0",
            Status = "404 Not Found",
            Pid = 77,
            ResponseLength = null,
            RemoteAddress = null,
        };
        Assert.Equal("<77> 404 - - - - - - -", Format("%(p)s %(s)s %(b)s %(B)s %(h)s %(u)s %(f)s %(a)s %({x}e)s", entry));
    }

    [Fact]
    public void Default_format_is_gunicorns() =>
        Assert.Equal("%(h)s %(l)s %(u)s %(t)s \"%(r)s\" %(s)s %(b)s \"%(f)s\" \"%(a)s\"", AccessLogFormat.Default);

    [Theory]
    [InlineData("Basic dXNlcjpwYXNz", "user")]
    [InlineData("basic  dXNlcjpwYXNz ", "user")]
    [InlineData("BASIC dXNl*cjpw!YXNz", "user")]
    [InlineData("Basic dXNlcjpwYXNz=", "user")]
    [InlineData("Basicx dXNlcjpwYXNz", "user")]
    [InlineData("Basic w6k6eA==", "\u00e9")]
    [InlineData("Basic OnBhc3M=", null)]
    [InlineData("Basic dXNlcg==", "user")] // no colon: Gunicorn 26.1 logs it all (20.1 logged "-")
    [InlineData("Basic dXNlcjr/", "user")] // a password that is not UTF-8 does not hide the user
    [InlineData("Basic /zp4", null)]
    [InlineData("Basic dXNlcjp", null)]
    [InlineData("Bearer dXNlcjpwYXNz", null)]
    [InlineData("Basic", null)]
    [InlineData("Basic /w==", null)]
    [InlineData("Basic dXM=ZXI6cA==", "us")] // Python's b64decode stops at the first padding: b"us"
    public void Basic_auth_user_decodes_like_gunicorn(string header, string? user) =>
        Assert.Equal(user, AccessLogAtoms.BasicAuthUser(header));

    [Theory]
    [InlineData("%(h)s %")]
    [InlineData("%s")]
    [InlineData("%(h")]
    [InlineData("%(h)q")]
    [InlineData("%(h)*s")]
    public void Bad_formats_fail_at_startup_naming_the_flag(string format)
    {
        var e = Assert.Throws<FormatException>(() => AccessLogFormat.Parse(format));
        Assert.StartsWith("--access-logformat:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Number_conversion_of_a_text_atom_fails_like_python() =>
        Assert.Throws<FormatException>(() => Format("%(h)d"));

    [Fact]
    public void Json_format_escapes_quotes_backslashes_and_control_bytes()
    {
        var line = JsonAccessLogFormat.Format(Entries.Sample());
        Assert.DoesNotContain('\n', line);
        using var doc = System.Text.Json.JsonDocument.Parse(line);
        var root = doc.RootElement;
        Assert.Equal("curl/8 \"x\"", root.GetProperty("user_agent").GetString());
        Assert.Equal("/p%20a?x=1&y=\"2\"", root.GetProperty("uri").GetString());
        Assert.Equal("user", root.GetProperty("user").GetString());
        Assert.Equal(200, root.GetProperty("status").GetInt32());
        Assert.Equal(1234, root.GetProperty("bytes").GetInt64());
        Assert.Equal(2345678, root.GetProperty("duration_us").GetInt64());
        Assert.Equal(4242, root.GetProperty("pid").GetInt32());
        Assert.Contains("\\\"x\\\"", line, StringComparison.Ordinal);

        var hostile = JsonAccessLogFormat.Format(new AccessLogEntry
        {
            Method = "GET",
            RawUri = "/",
            Path = "/",
            Protocol = "HTTP/1.1",
            Status = "200 OK",
            RequestHeaders = [new("Referer", "a\u0001b\u001b[31m\\\"}")],
        });
        Assert.Contains("\"referer\":\"a\\u0001b\\u001B[31m\\\\\\\"}\"", hostile, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_format_writes_null_for_unknown_length_and_missing_headers()
    {
        var line = JsonAccessLogFormat.Format(new AccessLogEntry
        {
            Method = "GET",
            RawUri = "/\\",
            Path = "/\\",
            Protocol = "HTTP/1.1",
            Status = "500 Internal Server Error",
        });
        using var doc = System.Text.Json.JsonDocument.Parse(line);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, doc.RootElement.GetProperty("bytes").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, doc.RootElement.GetProperty("referer").ValueKind);
        Assert.Equal("/\\", doc.RootElement.GetProperty("path").GetString());
    }
}
