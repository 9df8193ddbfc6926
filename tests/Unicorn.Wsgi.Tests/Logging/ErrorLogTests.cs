using System.Text.RegularExpressions;
using Unicorn.Wsgi.Logging;

namespace Unicorn.Wsgi.Tests.Logging;

public partial class ErrorLogTests
{
    [GeneratedRegex(@"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[(\d+)\] \[([A-Z]+)\] (.*)$")]
    private static partial Regex GunicornLine();

    [Fact]
    public void Line_format_is_gunicorns_byte_for_byte()
    {
        Assert.Equal("[2026-11-27 20:30:00 +0000] [42] [INFO] Listening at: http://127.0.0.1:8000 (42)\n",
            ErrorLogLine.Format(new DateTimeOffset(2026, 11, 27, 20, 30, 0, TimeSpan.Zero), 42, LogLevel.Info, "Listening at: http://127.0.0.1:8000 (42)"));
        Assert.Equal("[2026-01-02 03:04:05 -0530] [7] [CRITICAL] WORKER TIMEOUT (pid:8)\n",
            ErrorLogLine.Format(new DateTimeOffset(2026, 1, 2, 3, 4, 5, new TimeSpan(-5, -30, 0)), 7, LogLevel.Critical, "WORKER TIMEOUT (pid:8)"));
        Assert.Equal("+0100", ErrorLogLine.Offset(TimeSpan.FromHours(1)));
    }

    [Theory]
    [InlineData("debug", LogLevel.Debug)]
    [InlineData("INFO", LogLevel.Info)]
    [InlineData("warning", LogLevel.Warning)]
    [InlineData("error", LogLevel.Error)]
    [InlineData("critical", LogLevel.Critical)]
    public void Log_level_names_parse(string name, LogLevel level)
    {
        Assert.True(ErrorLogLine.TryParseLevel(name, out var parsed));
        Assert.Equal(level, parsed);
    }

    [Fact]
    public void Unknown_log_level_is_refused() => Assert.False(ErrorLogLine.TryParseLevel("verbose", out _));

    [Fact]
    public void Writes_lines_at_or_above_the_level_to_the_file()
    {
        using var dir = new TempDir();
        var path = dir.File("error.log");
        using (var log = new ErrorLog(LogFile.Open(path, LogFile.Stderr), LogLevel.Warning))
        {
            IErrorLog errors = log;
            errors.Info("not written");
            errors.Warning("careful {0} {braces}");
            errors.Exception("Error handling request /", "Traceback (most recent call last):\n  boom\n");
        }

        var lines = File.ReadAllLines(path);
        Assert.Equal(4, lines.Length);
        var first = GunicornLine().Match(lines[0]);
        Assert.True(first.Success, lines[0]);
        Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), first.Groups[1].Value);
        Assert.Equal("WARNING", first.Groups[2].Value);
        Assert.Equal("careful {0} {braces}", first.Groups[3].Value);
        Assert.EndsWith("[ERROR] Error handling request /", lines[1], StringComparison.Ordinal);
        Assert.Equal("Traceback (most recent call last):", lines[2]);
        Assert.Equal("  boom", lines[3]);
    }

    [Fact]
    public void Reopen_after_a_rename_writes_to_a_new_file_at_the_same_path()
    {
        using var dir = new TempDir();
        var path = dir.File("error.log");
        using var log = new ErrorLog(LogFile.Open(path, LogFile.Stderr));
        IErrorLog errors = log;
        errors.Info("before rotation");
        File.Move(path, path + ".1");
        errors.Info("after rename, before reopen");
        errors.Reopen();
        errors.Info("after reopen");

        var rotated = File.ReadAllText(path + ".1");
        Assert.Contains("before rotation", rotated, StringComparison.Ordinal);
        Assert.Contains("after rename, before reopen", rotated, StringComparison.Ordinal);
        var fresh = File.ReadAllLines(path);
        Assert.Single(fresh);
        Assert.EndsWith("[INFO] after reopen", fresh[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Two_writers_append_to_one_file_without_overwriting_each_other()
    {
        using var dir = new TempDir();
        var path = dir.File("shared.log");
        using var a = LogFile.Open(path, LogFile.Stderr);
        using var b = LogFile.Open(path, LogFile.Stderr);
        for (var i = 0; i < 50; i++)
        {
            a.Write($"a{i}\n");
            b.Write($"b{i}\n");
        }

        var lines = File.ReadAllLines(path);
        Assert.Equal(100, lines.Length);
        Assert.Equal("b49", lines[^1]);
    }

    [Fact]
    public void Unwritable_file_is_one_clear_error_naming_it()
    {
        var e = Assert.Throws<IOException>(() => LogFile.Open("/nonexistent-dir/x.log", LogFile.Stderr));
        Assert.StartsWith("Error: '/nonexistent-dir/x.log' isn't writable", e.Message, StringComparison.Ordinal);
    }
}
