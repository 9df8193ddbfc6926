using System.Collections.Concurrent;
using System.Globalization;
using static Unicorn.EndToEnd.Tests.Arbiter.UnicornServer;

namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>
/// max_requests as Gunicorn means it: the worker stops taking requests as the last one starts and exits
/// when it is done, while its replacement boots; connections wait in the backlog, none is lost.
/// </summary>
public class RecyclingTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MaxRequestsRecyclesTheWorkerAtOnceWithoutLosingARequest(bool reusePort)
    {
        var port = FreePort();
        using var server = Start(["-w", "1", "--max-requests", "10", "-b", $"127.0.0.1:{port}", .. reusePort ? new[] { "--reuse-port" } : [], "pyfixtures.arbiter_app:app"]);
        server.WaitUntilServing(port);

        var pids = new HashSet<string>();
        var failures = new List<string>();
        for (var i = 0; i < 60; i++)
        {
            try
            {
                // A request may wait in the backlog while the replacement boots (seconds on a busy machine).
                var (status, body) = Get(port, "/pid", 60);
                Assert.Equal(200, status);
                pids.Add(body);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
                failures.Add(e.Message);
            }
        }

        // 60 requests at 10 per worker: six workers (five, if the first took part of its ten before the loop).
        Assert.Empty(failures);
        Assert.True(pids.Count >= 5, $"{pids.Count} pids served 60 requests: {string.Join(',', pids)}\n{server.Log}");
        Assert.DoesNotContain("exited with code", server.Log, StringComparison.Ordinal);
        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }

    [Theory]
    [InlineData("sync")]
    [InlineData("gthread")]
    public void ALeakingAppsWorkersStayWithinWhatMaxRequestsAllows(string workerClass)
    {
        const int maxRequests = 20;
        const int clients = 4;
        const int leakKb = 10 * 1024;
        // A worker serves its max_requests, plus what its clients already sent it when it stopped
        // accepting (at most one per client), each keeping leakKb; 32 MiB covers the allocators' slack.
        const int allowedKb = ((maxRequests + clients) * leakKb) + (32 * 1024);

        var port = FreePort();
        using var server = Start("-w", "2", "-k", workerClass, "--threads", workerClass == "sync" ? "1" : "4",
            "--max-requests", maxRequests.ToString(CultureInfo.InvariantCulture), "-b", $"127.0.0.1:{port}", "pyfixtures.leak_app:app");
        server.WaitUntilServing(port);

        var samples = new ConcurrentBag<(int Pid, int BeforeKb, int PeakKb)>();
        var failures = new ConcurrentBag<string>();
        var threads = Enumerable.Range(0, clients).Select(_ => new Thread(() =>
        {
            for (var i = 0; i < 30; i++)
            {
                try
                {
                    var (status, body) = Get(port, "/leak", 60);
                    var fields = body.Split(' ').Select(f => int.Parse(f, CultureInfo.InvariantCulture)).ToArray();
                    if (status == 200)
                    {
                        samples.Add((fields[0], fields[1], fields[2]));
                    }
                    else
                    {
                        failures.Add("status " + status);
                    }
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or FormatException)
                {
                    failures.Add(e.Message);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Empty(failures);
        Assert.Equal(clients * 30, samples.Count);
        var workers = samples.GroupBy(s => s.Pid).Select(g => (Pid: g.Key, Requests: g.Count(), BaseKb: g.Min(s => s.BeforeKb), PeakKb: g.Max(s => s.PeakKb))).ToList();
        var report = string.Join("; ", workers.Select(w => $"pid {w.Pid}: {w.Requests} requests, base {w.BaseKb / 1024} MiB, peak {w.PeakKb / 1024} MiB"));
        Assert.True(workers.Count >= 5, report);
        foreach (var worker in workers)
        {
            Assert.True(worker.PeakKb - worker.BaseKb <= allowedKb, $"pid {worker.Pid} grew {(worker.PeakKb - worker.BaseKb) / 1024} MiB, more than {allowedKb / 1024} MiB: {report}");
        }

        server.Signal(SIGTERM);
        Assert.Equal(0, server.WaitForExit());
    }
}
