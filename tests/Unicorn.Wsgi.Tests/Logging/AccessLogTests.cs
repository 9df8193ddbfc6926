using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Tests.Logging;

public class AccessLogTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public void Lines_are_written_in_order_by_the_background_writer()
    {
        using var dir = new TempDir();
        var path = dir.File("access.log");
        using (var log = new AccessLog("%(m)s %(U)s %(s)s", LogFile.Open(path, LogFile.Stdout)))
        {
            Assert.True(log.Enabled);
            for (var i = 0; i < 1000; i++)
            {
                log.Log(new AccessLogEntry { Method = "GET", RawUri = $"/{i}", Path = $"/{i}", Protocol = "HTTP/1.1", Status = "200 OK" });
            }

            Assert.True(log.Flush(Wait));
            Assert.Equal(0, log.Dropped);
        }

        var lines = File.ReadAllLines(path);
        Assert.Equal(1000, lines.Length);
        Assert.Equal("GET /0 200", lines[0]);
        Assert.Equal("GET /999 200", lines[^1]);
    }

    [Fact]
    public void Reopen_after_a_rename_sends_later_lines_to_the_new_file()
    {
        using var dir = new TempDir();
        var path = dir.File("access.log");
        using var log = new AccessLog("%(U)s", LogFile.Open(path, LogFile.Stdout));
        log.Log(Entry("/before"));
        Assert.True(log.Flush(Wait));
        File.Move(path, path + ".1");
        log.Reopen();
        log.Log(Entry("/after"));
        Assert.True(log.Flush(Wait));

        Assert.Equal(["/before"], File.ReadAllLines(path + ".1"));
        Assert.Equal(["/after"], File.ReadAllLines(path));
    }

    [Fact]
    public void A_full_queue_drops_and_counts_instead_of_blocking()
    {
        using var dir = new TempDir();
        using var log = new AccessLog("%(U)s", LogFile.Open(dir.File("a.log"), LogFile.Stdout), capacity: 1);
        for (var i = 0; i < 10_000; i++)
        {
            log.Log(Entry("/x"));
        }

        Assert.True(log.Flush(Wait));
        var written = File.ReadAllLines(dir.File("a.log")).Length;
        Assert.Equal(10_000, written + log.Dropped);
    }

    [Fact]
    public void A_line_that_fails_to_format_is_reported_to_the_error_log()
    {
        using var dir = new TempDir();
        var errors = new StringWriter();
        using var log = new AccessLog("%(h)d", LogFile.Open(dir.File("a.log"), LogFile.Stdout), errors: new StderrErrorLog(writer: errors));
        log.Log(Entry("/"));
        Assert.True(log.Flush(Wait));
        Assert.Contains("[ERROR] Error formatting access log line: %d format: a real number is required, not str", errors.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Json_format_writes_one_object_per_line()
    {
        using var dir = new TempDir();
        var path = dir.File("access.json");
        using (var log = new AccessLog(JsonAccessLogFormat.Name, LogFile.Open(path, LogFile.Stdout)))
        {
            log.Log(Entry("/one\n\"two\""));
            log.Log(Entry("/three"));
            Assert.True(log.Flush(Wait));
        }

        var lines = File.ReadAllLines(path);
        Assert.Equal(2, lines.Length);
        using var first = System.Text.Json.JsonDocument.Parse(lines[0]);
        Assert.Equal("/one\n\"two\"", first.RootElement.GetProperty("path").GetString());
    }

    [Fact]
    public void Without_a_file_or_syslog_the_log_is_disabled()
    {
        using var log = new AccessLog(AccessLogFormat.Default, null);
        Assert.False(log.Enabled);
        log.Log(Entry("/"));
        Assert.True(log.Flush(Wait));
    }

    private static AccessLogEntry Entry(string path) =>
        new() { Method = "GET", RawUri = path, Path = path, Protocol = "HTTP/1.1", Status = "200 OK" };
}
