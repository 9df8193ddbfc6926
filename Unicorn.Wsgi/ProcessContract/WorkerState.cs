namespace Unicorn.Wsgi.ProcessContract;

/// <summary>What a worker's heartbeat says about it.</summary>
public enum WorkerState : byte
{
    Booting = 0,
    Ready = 1,
    Retiring = 2,

    /// <summary>Booted and parked (worker_spares): serves nothing until the master promotes it.</summary>
    Spare = 3,
}
