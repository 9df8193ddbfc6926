using System.Text.Json.Nodes;

namespace Unicorn.Wsgi.Arbiter.Control;

/// <summary>What the control commands act on: the arbiter, called on its own loop's thread.</summary>
public interface IControlTarget
{
    JsonObject ShowWorkers();

    JsonObject ShowAll();

    JsonObject ShowConfig();

    JsonObject ShowStats();

    JsonObject ShowListeners();

    JsonObject WorkerAdd(int count);

    JsonObject WorkerRemove(int count);

    JsonObject WorkerKill(int pid);

    /// <summary>Queues a signal for the master's loop (HUP, USR1, TERM, INT), as sending it would.</summary>
    void Raise(int signal);

    /// <summary>The dirty arbiter, when one runs.</summary>
    IDirtyPool? Dirty { get; }
}
