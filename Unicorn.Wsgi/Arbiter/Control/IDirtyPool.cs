using System.Text.Json.Nodes;

namespace Unicorn.Wsgi.Arbiter.Control;

/// <summary>
/// The seam the dirty arbiter (issue #18, item 4) implements so the control socket can show and resize it;
/// until one exists, <c>show dirty</c> says it is not running and <c>dirty add|remove</c> answer an error.
/// </summary>
public interface IDirtyPool
{
    /// <summary>The dirty arbiter's pid.</summary>
    int Pid { get; }

    /// <summary>Gunicorn's <c>show dirty</c> data: enabled, pid, workers, apps.</summary>
    JsonObject Show();

    /// <summary>The dirty workers as <c>show all</c> lists them.</summary>
    JsonArray Workers();

    JsonObject Add(int count);

    JsonObject Remove(int count);
}
