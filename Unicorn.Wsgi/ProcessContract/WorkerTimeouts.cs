namespace Unicorn.Wsgi.ProcessContract;

/// <summary>
/// The master's timeout rule. <c>timeout</c> is a limit on a serving worker, counted from its last beat,
/// and its first beat is the one that says it is ready. Booting (starting .NET and CPython, importing the
/// app: seconds on a busy machine, where Gunicorn's fork costs nothing) is counted from the spawn against
/// its own, generous allowance, so a loaded machine does not kill workers before they serve, while a
/// worker stuck in its import is still ended.
/// </summary>
public static class WorkerTimeouts
{
    /// <summary>How long a worker may take from spawn to ready: boot_timeout, never less than timeout; null: unbounded.</summary>
    public static TimeSpan? BootAllowance(int timeout, int bootTimeout) =>
        bootTimeout > 0 ? TimeSpan.FromSeconds(Math.Max(timeout, bootTimeout)) : null;

    public static WorkerTimeout Decide(WorkerState state, TimeSpan sinceSpawn, TimeSpan sinceLastBeat, int timeout, int bootTimeout)
    {
        if (state == WorkerState.Booting)
        {
            return BootAllowance(timeout, bootTimeout) is { } allowance && sinceSpawn > allowance ? WorkerTimeout.Boot : WorkerTimeout.None;
        }

        return timeout > 0 && sinceLastBeat > TimeSpan.FromSeconds(timeout) ? WorkerTimeout.Silent : WorkerTimeout.None;
    }
}
