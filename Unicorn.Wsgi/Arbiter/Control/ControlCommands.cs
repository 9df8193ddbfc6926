using System.Globalization;
using System.Text.Json.Nodes;
using Unicorn.Wsgi.Interop;

namespace Unicorn.Wsgi.Arbiter.Control;

/// <summary>
/// Gunicorn's control commands, parsed from a request's words and run against an <see cref="IControlTarget"/>:
/// <c>show all|workers|dirty|config|stats|listeners</c>, <c>worker add|remove [N]</c>, <c>worker kill PID</c>,
/// <c>dirty add|remove [N]</c>, <c>reload</c>, <c>reopen</c>, <c>shutdown [graceful|quick]</c>, <c>help</c>.
/// A command that cannot run throws <see cref="ControlCommandException"/> with the reply's error.
/// </summary>
public static class ControlCommands
{
    public const string NoDirtyArbiter = "no dirty arbiter: dirty_apps is not set";

    private static readonly (string Command, string Help)[] HelpText =
    [
        ("show all", "Show the master, its web workers and any dirty workers"),
        ("show workers", "List the web workers and their heartbeats"),
        ("show dirty", "List the dirty workers and apps"),
        ("show config", "Show the effective configuration"),
        ("show stats", "Show the master's counters"),
        ("show listeners", "Show the bound sockets"),
        ("worker add [N]", "Start N more workers (default 1)"),
        ("worker remove [N]", "Stop N workers (default 1; at least one stays)"),
        ("worker kill <PID>", "Stop one worker gracefully; the master replaces it"),
        ("dirty add [N]", "Start N more dirty workers (default 1)"),
        ("dirty remove [N]", "Stop N dirty workers (default 1)"),
        ("reload", "Reload the configuration and replace the workers gracefully (HUP)"),
        ("reopen", "Reopen the log files (USR1)"),
        ("shutdown [graceful|quick]", "Stop the server (TERM, or INT when quick)"),
        ("help", "Show this list"),
    ];

    public static JsonObject Execute(IReadOnlyList<string> words, IControlTarget target)
    {
        ArgumentNullException.ThrowIfNull(words);
        ArgumentNullException.ThrowIfNull(target);
        if (words.Count == 0)
        {
            throw new ControlCommandException("Empty command");
        }

        var rest = words.Skip(1).ToList();
        switch (words[0].ToLowerInvariant())
        {
            case "show":
                return Show(rest, target);
            case "worker":
                return Worker(rest, target);
            case "dirty":
                return Dirty(rest, target);
            case "reload":
                target.Raise(Libc.SIGHUP);
                return new JsonObject { ["status"] = "reloading" };
            case "reopen":
                target.Raise(Libc.SIGUSR1);
                return new JsonObject { ["status"] = "reopening" };
            case "shutdown":
                var mode = rest.Count > 0 ? rest[0].ToLowerInvariant() : "graceful";
                if (mode is not ("graceful" or "quick"))
                {
                    throw new ControlCommandException($"Invalid argument: Unknown shutdown mode: {rest[0]} (graceful|quick)");
                }

                target.Raise(mode == "quick" ? Libc.SIGINT : Libc.SIGTERM);
                return new JsonObject { ["status"] = "shutting_down", ["mode"] = mode };
            case "help":
                var commands = new JsonObject();
                foreach (var (command, help) in HelpText)
                {
                    commands[command] = help;
                }

                return new JsonObject { ["commands"] = commands };
            default:
                throw new ControlCommandException($"Invalid argument: Unknown command: {words[0]}");
        }
    }

    private static JsonObject Show(List<string> args, IControlTarget target)
    {
        if (args.Count == 0)
        {
            throw new ControlCommandException("Invalid argument: Missing show target (all|workers|dirty|config|stats|listeners)");
        }

        return args[0].ToLowerInvariant() switch
        {
            "all" => target.ShowAll(),
            "workers" => target.ShowWorkers(),
            "dirty" => target.Dirty?.Show() ?? new JsonObject
            {
                ["enabled"] = false,
                ["pid"] = null,
                ["workers"] = new JsonArray(),
                ["apps"] = new JsonArray(),
            },
            "config" => target.ShowConfig(),
            "stats" => target.ShowStats(),
            "listeners" => target.ShowListeners(),
            _ => throw new ControlCommandException($"Invalid argument: Unknown show target: {args[0]}"),
        };
    }

    private static JsonObject Worker(List<string> args, IControlTarget target)
    {
        if (args.Count == 0)
        {
            throw new ControlCommandException("Invalid argument: Missing worker action (add|remove|kill)");
        }

        return args[0].ToLowerInvariant() switch
        {
            "add" => target.WorkerAdd(Count(args)),
            "remove" => target.WorkerRemove(Count(args)),
            "kill" => args.Count > 1
                ? target.WorkerKill(Integer(args[1]))
                : throw new ControlCommandException("Invalid argument: Missing PID for worker kill"),
            _ => throw new ControlCommandException($"Invalid argument: Unknown worker action: {args[0]}"),
        };
    }

    private static JsonObject Dirty(List<string> args, IControlTarget target)
    {
        if (args.Count == 0)
        {
            throw new ControlCommandException("Invalid argument: Missing dirty action (add|remove)");
        }

        var action = args[0].ToLowerInvariant();
        if (action is not ("add" or "remove"))
        {
            throw new ControlCommandException($"Invalid argument: Unknown dirty action: {args[0]}");
        }

        var count = Count(args);
        var pool = target.Dirty ?? throw new ControlCommandException(NoDirtyArbiter);
        return action == "add" ? pool.Add(count) : pool.Remove(count);
    }

    /// <summary>The optional count after an action: at least 1, as Gunicorn clamps it.</summary>
    private static int Count(List<string> args) => args.Count > 1 ? Math.Max(1, Integer(args[1])) : 1;

    private static int Integer(string text) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ControlCommandException($"Invalid argument: '{text}' is not an integer");
}
