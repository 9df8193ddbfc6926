using System.Diagnostics;
using Unicorn.EndToEnd.Tests.Arbiter;
using Unicorn.EndToEnd.Tests.Tls;

namespace Unicorn.EndToEnd.Tests.Http2;

/// <summary>
/// Kestrel aborts a connection whose output queue a rapid-reset flood overflowed, and then, about one time in
/// twenty, never lets go of it (dotnet/aspnetcore#51307). The worker must not wait with it: its slot is given back
/// and a graceful stop is not held up.
/// </summary>
public sealed class Http2AbortedConnectionTests : IDisposable
{
    private readonly TestCertificates _certs = new();

    public void Dispose() => _certs.Dispose();

    [Fact]
    public void Rapid_reset_floods_never_keep_the_one_connection_slot_nor_hold_up_a_graceful_stop()
    {
        var port = UnicornServer.FreePort();
        // One slot: the first connection held for good would leave every later client waiting in the backlog.
        using var server = Http2ServerFixture.Start(_certs, port, "--http-protocols", "h2,h1", "-k", "gthread", "--threads", "4",
            "--worker-connections", "1", "--graceful-timeout", "30");
        var attacks = Enumerable.Repeat("rapid_reset", 40).ToArray();
        var result = Http2ServerFixture.Hostile(port, 600, attacks);
        Assert.True(result.ExitCode == 0, result.All);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(40, lines.Length);
        // After each flood a normal request on a new connection is answered.
        Assert.All(lines, l => Assert.Contains(" normal=200 ", l, StringComparison.Ordinal));

        var stopping = Stopwatch.StartNew();
        server.Signal(15);
        Assert.Equal(0, server.WaitForExit(60));
        // Within the 2 s Unicorn gives Kestrel and the worker's own stop, far from graceful_timeout's 30 s.
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(15), $"{stopping.Elapsed}\n{server.Log}");
        Assert.DoesNotContain("SIGKILL", server.Log, StringComparison.Ordinal);
        // Kestrel's "application never completed" for a connection it never released is not a server failure.
        Assert.DoesNotContain("[CRITICAL]", server.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Log, StringComparison.Ordinal);
    }
}
