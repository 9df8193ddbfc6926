using System.Text.Json.Nodes;
using Unicorn.Wsgi.Arbiter.Control;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>
/// The control socket's view of the dirty arbiter (<see cref="IDirtyPool"/>): <c>show dirty</c>, <c>show all</c>
/// and <c>dirty add|remove</c> are asked of the dirty arbiter over its socket. Given to the master through
/// <see cref="ArbiterOptions.DirtyPool"/> when the pool is configured; the master attaches the process it runs.
/// Called from the master's loop thread.
/// </summary>
public sealed class DirtyPool : IDirtyPool
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    internal DirtyArbiterProcess? Process { get; set; }

    public int Pid => Process?.Pid ?? 0;

    public JsonObject Show()
    {
        if (Process is not { Pid: not 0 } process)
        {
            return new JsonObject { ["enabled"] = false, ["pid"] = null, ["workers"] = new JsonArray(), ["apps"] = new JsonArray() };
        }

        try
        {
            return DirtyArbiterClient.Request(process.SocketPath, new JsonObject { ["type"] = "status", ["id"] = 1 }, Timeout) as JsonObject
                ?? new JsonObject { ["enabled"] = true, ["pid"] = process.Pid };
        }
        catch (IOException e)
        {
            return new JsonObject { ["enabled"] = true, ["pid"] = process.Pid, ["error"] = e.Message, ["workers"] = new JsonArray(), ["apps"] = new JsonArray() };
        }
    }

    public JsonArray Workers() => Show()["workers"] is JsonArray workers ? (JsonArray)workers.DeepClone() : [];

    public JsonObject Add(int count) => Manage("add", count);

    public JsonObject Remove(int count) => Manage("remove", count);

    private JsonObject Manage(string operation, int count)
    {
        if (Process is not { Pid: not 0 } process)
        {
            return new JsonObject { ["success"] = false, ["error"] = "Dirty arbiter not running" };
        }

        try
        {
            var request = new JsonObject { ["type"] = "manage", ["id"] = 1, ["op"] = operation, ["count"] = Math.Max(1, count) };
            return DirtyArbiterClient.Request(process.SocketPath, request, Timeout) as JsonObject ?? new JsonObject { ["success"] = true };
        }
        catch (IOException e)
        {
            return new JsonObject { ["success"] = false, ["error"] = e.Message };
        }
    }
}
