using System.Net;
using System.Net.Sockets;
using System.Text;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Tests.Logging;

public class LoggingSetupTests
{
    [Fact]
    public void A_log_that_cannot_be_reopened_on_usr1_is_one_error_line_and_the_old_file_stays_in_use()
    {
        using var dir = new TempDir();
        var rotated = dir.File("rotated");
        Directory.CreateDirectory(rotated);
        var settings = LogSettings.With(("errorlog", Path.Combine(rotated, "error.log")), ("accesslog", Path.Combine(rotated, "access.log")));
        using (var logs = LoggingSetup.Create(settings))
        {
            Directory.Move(rotated, dir.File("gone")); // the directory renamed away: the paths cannot be opened again
            logs.Reopen();
            ((IErrorLog)logs.ErrorLog).Info("still logging");
        }

        var lines = File.ReadAllLines(Path.Combine(dir.File("gone"), "error.log"));
        Assert.Equal(2, lines.Count(l => l.Contains("[ERROR] Cannot reopen the log on USR1, writing to the file opened before: Error: '", StringComparison.Ordinal)));
        Assert.EndsWith("[INFO] still logging", lines[^1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("uvicorn.workers.UvicornWorker", true)]
    [InlineData("sync", false)]
    public void A_format_gunicorn_never_applies_under_uvicorns_worker_falls_back_to_the_default_there_only(string workerClass, bool starts)
    {
        // s3rius/FastAPI-template's gunicorn_runner.py: Gunicorn + uvicorn write uvicorn's line and never use it.
        using var dir = new TempDir();
        var settings = LogSettings.With(("errorlog", dir.File("error.log")), ("accesslog", dir.File("access.log")),
            ("access_log_format", "%r \"-\" %s \"-\" %Tf"), ("worker_class", workerClass));
        if (!starts)
        {
            Assert.Contains("'%r' has no atom name", Assert.Throws<LoggingSetupException>(() => LoggingSetup.Create(settings)).Message, StringComparison.Ordinal);
            return;
        }

        using (var logs = LoggingSetup.Create(settings))
        {
            logs.OnRequest(new AccessLogEntry { Method = "GET", RawUri = "/x", Path = "/x", Protocol = "HTTP/1.1", Status = "200 OK", ResponseLength = 2 });
            Assert.True(logs.AccessLog.Flush(TimeSpan.FromSeconds(10)));
        }

        Assert.Contains("\"GET /x HTTP/1.1\" 200 2", Assert.Single(File.ReadAllLines(dir.File("access.log"))), StringComparison.Ordinal);
        Assert.Contains("Gunicorn never uses it under uvicorn.workers.UvicornWorker: the default format is used",
            Assert.Single(File.ReadAllLines(dir.File("error.log"))), StringComparison.Ordinal);
    }

    [Fact]
    public void Files_level_format_and_statsd_come_from_settings()
    {
        using var dir = new TempDir();
        using var statsdListener = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        statsdListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        statsdListener.ReceiveTimeout = 5000;
        var settings = LogSettings.With(
            ("errorlog", dir.File("error.log")),
            ("loglevel", "warning"),
            ("accesslog", dir.File("access.log")),
            ("access_log_format", "%(m)s %(U)s %(s)s %(b)s"),
            ("statsd_host", StatsdAddress.Parse($"127.0.0.1:{((IPEndPoint)statsdListener.LocalEndPoint!).Port}")),
            ("statsd_prefix", "svc"));
        using (var logs = LoggingSetup.Create(settings))
        {
            Assert.True(logs.WantsRequests);
            IErrorLog errors = logs.ErrorLog;
            errors.Info("below level");
            errors.Warning("kept");
            logs.OnRequest(new AccessLogEntry { Method = "GET", RawUri = "/x", Path = "/x", Protocol = "HTTP/1.1", Status = "201 Created", ResponseLength = 5 });
            Assert.True(logs.AccessLog.Flush(TimeSpan.FromSeconds(10)));
        }

        Assert.Equal(["GET /x 201 5"], File.ReadAllLines(dir.File("access.log")));
        var errorLines = File.ReadAllLines(dir.File("error.log"));
        Assert.Single(errorLines);
        Assert.EndsWith("[WARNING] kept", errorLines[0], StringComparison.Ordinal);

        var buffer = new byte[512];
        var packets = Enumerable.Range(0, 4).Select(_ => Encoding.ASCII.GetString(buffer, 0, statsdListener.Receive(buffer))).ToList();
        Assert.Equal(
            ["svc.gunicorn.log.warning:1|c|@1.0", "svc.gunicorn.request.duration:0.0|ms", "svc.gunicorn.requests:1|c|@1.0", "svc.gunicorn.request.status.201:1|c|@1.0"],
            packets);
    }

    [Fact]
    public void Defaults_are_stderr_info_and_no_access_log()
    {
        using var logs = LoggingSetup.Create(new Settings());
        Assert.False(logs.AccessLog.Enabled);
        Assert.Null(logs.Statsd);
        Assert.Null(logs.MetricsBind);
        Assert.False(logs.WantsRequests);
        Assert.True(((IErrorLog)logs.ErrorLog).IsEnabled(LogLevel.Info));
        Assert.False(((IErrorLog)logs.ErrorLog).IsEnabled(LogLevel.Debug));
    }

    [Fact]
    public void Syslog_tags_use_the_process_name_and_access_lines_follow_unless_disabled()
    {
        using var dir = new TempDir();
        var socketPath = dir.File("syslog.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.ReceiveTimeout = 5000;
        var settings = LogSettings.With(("errorlog", dir.File("e.log")), ("syslog", true), ("syslog_addr", $"unix://{socketPath}#dgram"),
            ("syslog_facility", "local1"), ("default_proc_name", "myapp:app"), ("access_log_format", "%(U)s"));
        using (var logs = LoggingSetup.Create(settings))
        {
            ((IErrorLog)logs.ErrorLog).Info("Booting worker with pid: 1");
            logs.OnRequest(new AccessLogEntry { Method = "GET", RawUri = "/a", Path = "/a", Protocol = "HTTP/1.1", Status = "200 OK", Pid = 5 });
            Assert.True(logs.AccessLog.Flush(TimeSpan.FromSeconds(10)));
        }

        var buffer = new byte[512];
        var first = Encoding.UTF8.GetString(buffer, 0, listener.Receive(buffer));
        var second = Encoding.UTF8.GetString(buffer, 0, listener.Receive(buffer));
        Assert.Equal($"<142>gunicorn.myapp.app.error: [{Environment.ProcessId}] Booting worker with pid: 1\0", first);
        Assert.Equal("<142>gunicorn.myapp.app.access: [5] /a\0", second);

        settings.Set("disable_redirect_access_to_syslog", true);
        settings.Set("syslog_prefix", "custom");
        using var quiet = LoggingSetup.Create(settings);
        Assert.False(quiet.AccessLog.Enabled);
        Assert.Equal("custom", LoggingSetup.SyslogPrefix(settings));
    }

    [Theory]
    [InlineData("loglevel", "loud", "--log-level")]
    [InlineData("access_log_format", "%(h)q", "--access-logformat")]
    [InlineData("metrics_bind", "nowhere", "--metrics-bind")]
    [InlineData("errorlog", "/nonexistent-dir/e.log", "Error: '/nonexistent-dir/e.log' isn't writable")]
    public void Bad_settings_are_one_line_naming_the_flag(string name, string value, string start)
    {
        var e = Assert.Throws<LoggingSetupException>(() => LoggingSetup.Create(LogSettings.With((name, value))));
        Assert.StartsWith(start, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Syslog_settings_are_checked_only_when_syslog_is_on()
    {
        using var off = LoggingSetup.Create(LogSettings.With(("syslog_facility", "nope")));
        var e = Assert.Throws<LoggingSetupException>(() => LoggingSetup.Create(LogSettings.With(("syslog", true), ("syslog_facility", "nope"))));
        Assert.StartsWith("--log-syslog-facility:", e.Message, StringComparison.Ordinal);
    }
}
