using Unicorn.EndToEnd.Tests.Arbiter;

namespace Unicorn.EndToEnd.Tests.Logging;

/// <summary>A log file on a full disk: the server keeps serving, and says once on stderr that lines are lost.</summary>
public sealed class FullDiskTests
{
    [Fact]
    public void A_log_that_cannot_be_written_is_said_once_on_stderr_and_again_once_it_can()
    {
        // The log's path points at /dev/full (every write: ENOSPC) until the "disk" is freed: then at a file, and USR1.
        var dir = Directory.CreateTempSubdirectory("unicorn-full-").FullName;
        try
        {
            var log = Path.Combine(dir, "error.log");
            File.CreateSymbolicLink(log, "/dev/full");
            var port = UnicornServer.FreePort();
            using var server = UnicornServer.Start(["pyfixtures.bench_apps:hello", "-b", $"127.0.0.1:{port}", "-w", "1",
                "--error-logfile", log, "--access-logfile", log, "--no-control-socket"]);
            server.WaitUntilServing(port);
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(200, UnicornServer.Get(port, "/").Status);
            }

            var lost = $"unicorn: cannot write to the log file {log} ([Errno 28] No space left on device): its lines are lost until it can";
            server.WaitForLog(lost);
            // Once per file and process (the master's error log; the worker's error and access logs), not once per line.
            Assert.InRange(server.Count(lost), 1, 3);

            File.Delete(log);
            File.WriteAllText(log, "");
            server.Signal(UnicornServer.SIGUSR1);
            // The master logs the signal before it reopens; the worker's next access line is the first to land.
            var again = $"unicorn: writing to the log file {log} again";
            Assert.True(SpinWait.SpinUntil(() => UnicornServer.Get(port, "/").Status == 200 && server.Count(again) > 0, TimeSpan.FromSeconds(30)), server.Log);
            Assert.Contains("\"GET / HTTP/1.", File.ReadAllText(log), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
