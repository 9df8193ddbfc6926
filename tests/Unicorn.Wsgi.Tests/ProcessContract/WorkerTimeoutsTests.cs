using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Tests.ProcessContract;

/// <summary>The master's timeout rule: `timeout` bounds a serving worker's silence; booting has its own allowance.</summary>
public class WorkerTimeoutsTests
{
    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    [Fact]
    public void ABootingWorkerIsNotChargedTheRequestTimeout()
    {
        // A loaded machine: 45 s after the spawn, still starting .NET and CPython, with --timeout 5.
        Assert.Equal(WorkerTimeout.None, WorkerTimeouts.Decide(WorkerState.Booting, S(45), S(45), timeout: 5, bootTimeout: 120));
    }

    [Fact]
    public void ABootingWorkerPastItsAllowanceIsABootTimeout()
    {
        Assert.Equal(WorkerTimeout.Boot, WorkerTimeouts.Decide(WorkerState.Booting, S(121), S(121), timeout: 5, bootTimeout: 120));
    }

    [Fact]
    public void TheBootAllowanceIsNeverLessThanTimeout()
    {
        // A Gunicorn user who raised --timeout for a slow import keeps that much boot time.
        Assert.Equal(WorkerTimeout.None, WorkerTimeouts.Decide(WorkerState.Booting, S(200), S(200), timeout: 300, bootTimeout: 120));
        Assert.Equal(S(300), WorkerTimeouts.BootAllowance(300, 120));
        Assert.Equal(S(120), WorkerTimeouts.BootAllowance(5, 120));
    }

    [Fact]
    public void BootTimeoutZeroLetsABootTakeAsLongAsItTakes()
    {
        Assert.Null(WorkerTimeouts.BootAllowance(30, 0));
        Assert.Equal(WorkerTimeout.None, WorkerTimeouts.Decide(WorkerState.Booting, S(3600), S(3600), timeout: 30, bootTimeout: 0));
    }

    [Theory]
    [InlineData(WorkerState.Ready)]
    [InlineData(WorkerState.Retiring)]
    public void AServingWorkerIsTimedFromItsLastBeatNotItsSpawn(WorkerState state)
    {
        // Booted slowly (40 s), beat 1 s ago: fine. Silent for 6 s with --timeout 5: timed out.
        Assert.Equal(WorkerTimeout.None, WorkerTimeouts.Decide(state, S(40), S(1), timeout: 5, bootTimeout: 120));
        Assert.Equal(WorkerTimeout.Silent, WorkerTimeouts.Decide(state, S(40), S(6), timeout: 5, bootTimeout: 120));
    }

    [Fact]
    public void TimeoutZeroDisablesTheSilenceCheck()
    {
        Assert.Equal(WorkerTimeout.None, WorkerTimeouts.Decide(WorkerState.Ready, S(4000), S(4000), timeout: 0, bootTimeout: 120));
    }
}
