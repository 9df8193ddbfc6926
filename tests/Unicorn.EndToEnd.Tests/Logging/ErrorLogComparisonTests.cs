using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
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

        // Unicorn's one addition: the interpreter it embeds, right after "Using worker:" (docs/differences.md).
        Assert.Matches(@"^\[TIME\] \[PID\] \[INFO\] Using Python: /\S+, Python N\.N\.N$", unicorn[3]);
        unicorn.RemoveAt(3);
        // Gunicorn 26.1's control socket line, which the installed Gunicorn 20.1 predates.
        Assert.Matches(@"^\[TIME\] \[PID\] \[INFO\] Control socket listening at /\S+$", unicorn[3]);
        unicorn.RemoveAt(3);
        Assert.Equal(gunicorn.Take(4), unicorn.Take(4));
        Assert.Equal(gunicorn.Skip(4).Order(StringComparer.Ordinal), unicorn.Skip(4).Order(StringComparer.Ordinal));
    }

    /// <summary>Runs a server that should fail at start: its exit status and masked stderr (the error log).</summary>
    private static (int Code, List<string> Lines, string Raw) RunToFailure(string executable, params string[] args)
    {
        var info = new ProcessStartInfo(executable) { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = ServerProcess.RepoRoot() };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["UNICORN_PYTHON"] = "/usr/bin/python3";
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{executable} did not exit");
        }

        var raw = stderr.Result + stdout.Result;
        return (p.ExitCode, Masked(raw.Split('\n')), raw);
    }

    [Fact]
    public void A_busy_port_is_retried_and_refused_with_gunicorns_lines_and_exit_status()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen();
        var bind = $"127.0.0.1:{((IPEndPoint)holder.LocalEndPoint!).Port}";

        var gunicorn = RunToFailure("/usr/bin/gunicorn", "-b", bind, "pyfixtures.hello:app");
        var unicorn = RunToFailure(Path.Combine(ServerProcess.RepoRoot(), "unicorn"), "-b", bind, "pyfixtures.hello:app");

        // Five "Connection in use" + "Retrying in 1 second." pairs, then one "Can't connect to ...", exit 1, from the
        // installed Gunicorn 20.1. Unicorn writes Gunicorn 26.1's lines: the same, with each retry line (26.1 logs it
        // at debug) replaced by the failure "connection to ADDR failed: [Errno 98] Address already in use".
        Assert.Equal(1, gunicorn.Code);
        Assert.Equal(12, gunicorn.Lines.Count);
        var (retry, failed) = (Masked(["[2026-12-06 10:00:00 +0000] [1] [ERROR] Retrying in 1 second."])[0],
            Masked([$"[2026-12-06 10:00:00 +0000] [1] [ERROR] connection to ('127.0.0.1', {bind.Split(':')[1]}) failed: [Errno 98] Address already in use"])[0]);
        var expected = gunicorn.Lines.Select(l => l == retry ? failed : l).ToList();
        Assert.Equal(5, expected.Count(l => l == failed));
        Assert.Equal(expected, unicorn.Lines);
        Assert.Equal(gunicorn.Code, unicorn.Code);
        Assert.DoesNotContain("   at ", unicorn.Raw, StringComparison.Ordinal);
    }
}
