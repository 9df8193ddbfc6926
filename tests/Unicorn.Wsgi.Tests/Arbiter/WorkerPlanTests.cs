using Unicorn.Wsgi.Arbiter;
using Unicorn.Wsgi.ProcessContract;

namespace Unicorn.Wsgi.Tests.Arbiter;

public class WorkerPlanTests
{
    private static WorkerSnapshot W(int pid, WorkerState state = WorkerState.Ready, bool stopping = false) => new(pid, pid, state, stopping);

    [Fact]
    public void SpawnsUpToTheTarget()
    {
        var (spawn, stop) = WorkerPlan.Decide([W(1)], 3);
        Assert.Equal(2, spawn);
        Assert.Empty(stop);
    }

    [Fact]
    public void TtouStopsTheOldest()
    {
        var (spawn, stop) = WorkerPlan.Decide([W(2), W(1), W(3)], 2);
        Assert.Equal(0, spawn);
        Assert.Equal([1], stop);
    }

    [Fact]
    public void ReloadKeepsOldWorkersUntilTheNewOnesAreReady()
    {
        WorkerSnapshot[] booting = [W(1), W(2), W(3, WorkerState.Booting), W(4, WorkerState.Booting)];
        Assert.Empty(WorkerPlan.Decide(booting, 2).Stop);

        WorkerSnapshot[] half = [W(1), W(2), W(3), W(4, WorkerState.Booting)];
        Assert.Equal([1], WorkerPlan.Decide(half, 2).Stop);

        WorkerSnapshot[] ready = [W(1, stopping: true), W(2), W(3), W(4)];
        Assert.Equal([2], WorkerPlan.Decide(ready, 2).Stop);
    }

    [Fact]
    public void RetiringWorkerIsReplacedBeforeItIsStopped()
    {
        var first = WorkerPlan.Decide([W(1, WorkerState.Retiring)], 1);
        Assert.Equal(1, first.Spawn);
        Assert.Empty(first.Stop);

        var booting = WorkerPlan.Decide([W(1, WorkerState.Retiring), W(2, WorkerState.Booting)], 1);
        Assert.Equal(0, booting.Spawn);
        Assert.Empty(booting.Stop);

        var ready = WorkerPlan.Decide([W(1, WorkerState.Retiring), W(2)], 1);
        Assert.Equal([1], ready.Stop);
    }

    [Fact]
    public void StoppingWorkersAreNotCountedAndAreReplaced()
    {
        var (spawn, stop) = WorkerPlan.Decide([W(1, stopping: true), W(2)], 2);
        Assert.Equal(1, spawn);
        Assert.Empty(stop);
    }

    [Fact]
    public void TargetZeroStopsEveryone()
    {
        var (spawn, stop) = WorkerPlan.Decide([W(1), W(2, WorkerState.Booting)], 0);
        Assert.Equal(0, spawn);
        Assert.Equal([1, 2], stop.Order());
    }
}
