using System.Text.RegularExpressions;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>
/// The error log of a start and a graceful stop, from real Gunicorn and from Unicorn, compared line by
/// line after masking what must differ: time, pids, port, and the server's name and version in the banner.
/// </summary>
public partial class ErrorLogComparisonTests
{
    [GeneratedRegex(@"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[(DEBUG|INFO|WARNING|ERROR|CRITICAL)\] ")]
    private static partial Regex Prefix();

    [GeneratedRegex(@"\d+")]
    private static partial Regex Numbers();

    [GeneratedRegex(@"\] Starting \w+ \S+$")]
    private static partial Regex Banner();

    internal static List<string> Masked(IEnumerable<string> lines) =>
        lines.Where(l => Prefix().IsMatch(l))
            .Select(l => Banner().Replace(l, "] Starting SERVER VERSION"))
            .Select(l => Numbers().Replace(Prefix().Replace(l, "[TIME] [PID] [$1] "), "N"))
            .ToList();

    internal static List<string> StartAndStop(string executable)
    {
        var logPath = Path.Combine(Path.GetTempPath(), $"unicorn-error-{Guid.NewGuid():N}.log");
        try
        {
            using (var server = ServerProcess.Start(executable, ["--workers", "1", "--error-logfile", logPath, "pyfixtures.access_log_app:app"], TimeSpan.FromSeconds(60)))
            {
                server.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray()); // the worker is up
                server.Stop();
            }

            return Masked(File.ReadAllLines(logPath));
        }
        finally
        {
            File.Delete(logPath);
        }
    }

    [Fact]
    public void Start_up_and_shutdown_lines_match_gunicorns()
    {
        var gunicorn = StartAndStop("/usr/bin/gunicorn");
        Assert.Equal(
            [
                "[TIME] [PID] [INFO] Starting SERVER VERSION",
                "[TIME] [PID] [INFO] Listening at: http://N.N.N.N:N (N)",
                "[TIME] [PID] [INFO] Using worker: sync",
                "[TIME] [PID] [INFO] Booting worker with pid: N",
            ],
            gunicorn.Take(4));
        var unicorn = StartAndStop(Path.Combine(ServerProcess.RepoRoot(), "unicorn"));
        Assert.Equal(gunicorn.Take(4), unicorn.Take(4));
        Assert.Equal(gunicorn.Skip(4).Order(StringComparer.Ordinal), unicorn.Skip(4).Order(StringComparer.Ordinal));
    }
}
