using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.ProcessContract;

/// <summary>
/// What a master passes to the processes it starts, by environment variable: workers get the listener
/// fds, heartbeat fd, master pid, age and resolved settings; a USR2 master gets <c>GUNICORN_FD</c> and
/// <c>GUNICORN_PID</c> exactly as Gunicorn sets them.
/// </summary>
public static class HandOver
{
    /// <summary>Set to "1" in a worker's environment: the program runs <c>WorkerProcess.Run</c>.</summary>
    public const string WorkerMode = "UNICORN_WORKER";
    public const string ListenFds = "UNICORN_LISTEN_FDS";

    /// <summary>reuse_port: the worker's own slot of the master's SO_REUSEPORT sockets, one per TCP address.</summary>
    public const string PortFds = "UNICORN_PORT_FDS";

    /// <summary>reuse_port, to a USR2 master: the old master's worker slots (<see cref="FormatSlots"/>), to take over.</summary>
    public const string PortSlots = "UNICORN_PORT_SLOTS";
    public const string HeartbeatFd = "UNICORN_HEARTBEAT_FD";
    public const string MasterPid = "UNICORN_MASTER_PID";
    public const string WorkerAge = "UNICORN_WORKER_AGE";
    public const string SettingsJson = "UNICORN_SETTINGS";

    /// <summary>A spawned worker's settings instead: the descriptor of a memory file holding the same JSON.</summary>
    public const string SettingsFd = "UNICORN_SETTINGS_FD";
    public const string PythonInfo = "UNICORN_PYTHON_INFO";

    /// <summary>Set to "1" in a worker forked by the zygote: .NET runs inside the zygote's python3.</summary>
    public const string ForkedWorker = "UNICORN_FORKED_WORKER";

    /// <summary>
    /// Set to "1" in a spare (worker_spares): it boots, then parks until the master promotes it with SIGUSR2.
    /// </summary>
    public const string Spare = "UNICORN_WORKER_SPARE";

    /// <summary>
    /// JSON of what the master's pre_fork hook set on the worker object (authentik's <c>worker._worker_id</c>): the
    /// worker's own object has it, as a forked Gunicorn worker has what pre_fork set. Read and removed by the hooks.
    /// </summary>
    public const string HookWorkerState = "UNICORN_HOOK_WORKER_STATE";

    /// <summary>Set in a daemonised master (after the -D re-exec) so it does not daemonise again.</summary>
    public const string Daemonized = "UNICORN_DAEMONIZED";

    /// <summary>JSON of a BaseApplication script's sys.argv, to its master: the app's sys.argv in the workers.</summary>
    public const string ScriptArgv = "UNICORN_SCRIPT_ARGV";

    /// <summary>Set beside GUNICORN_FD when the fds came from systemd, so the new master never unlinks them.</summary>
    public const string SystemdFds = "UNICORN_SYSTEMD_FDS";

    /// <summary>
    /// The names, comma-separated, that the master put in a worker's environment for the worker alone (these
    /// hand-over variables, the workers' .NET tuning), this one among them. The worker takes them out before the app
    /// runs: what the app starts inherits the master's environment, as under Gunicorn, and a <c>unicorn</c> it starts
    /// is a master, not a worker.
    /// </summary>
    public const string WorkerOnly = "UNICORN_WORKER_ONLY";

    /// <summary>
    /// To a USR2 master under systemd (NOTIFY_SOCKET set): the write end of a pipe whose read end the old master
    /// keeps. The new master writes one byte once it serves, and the old master then tells systemd the new one is
    /// the main process (<c>MAINPID=</c>); a new master that exits first closes it unwritten.
    /// </summary>
    public const string UpgradeReadyFd = "UNICORN_UPGRADE_READY_FD";

    public const string GunicornFd = "GUNICORN_FD";
    public const string GunicornPid = "GUNICORN_PID";

    /// <summary>True when this process was started by a master as a worker.</summary>
    public static bool IsWorkerProcess => Environment.GetEnvironmentVariable(WorkerMode) == "1";

    public static string FormatFds(IEnumerable<int> fds) => string.Join(',', fds.Select(fd => fd.ToString(CultureInfo.InvariantCulture)));

    /// <summary>This worker's settings JSON: <see cref="SettingsJson"/>, else the file <see cref="SettingsFd"/> names (then closed).</summary>
    public static string ReadSettingsJson()
    {
        if (Environment.GetEnvironmentVariable(SettingsJson) is { } json)
        {
            return json;
        }

        if (!int.TryParse(Environment.GetEnvironmentVariable(SettingsFd), NumberStyles.None, CultureInfo.InvariantCulture, out var fd))
        {
            return "{}";
        }

        // From offset 0: the master's write left the offset it shares with this descriptor at the end.
        using var file = new SafeFileHandle(fd, ownsHandle: true);
        var content = new byte[RandomAccess.GetLength(file)];
        var read = 0;
        while (read < content.Length && RandomAccess.Read(file, content.AsSpan(read), read) is var n and > 0)
        {
            read += n;
        }

        return Encoding.UTF8.GetString(content, 0, read);
    }

    /// <summary>The names in this worker's <see cref="WorkerOnly"/>.</summary>
    public static IReadOnlyList<string> WorkerOnlyNames() =>
        Environment.GetEnvironmentVariable(WorkerOnly)?.Split(',', StringSplitOptions.RemoveEmptyEntries) ?? [];

    /// <summary>Slots separated by ';', each slot's descriptors by ','.</summary>
    public static string FormatSlots(IEnumerable<IEnumerable<int>> slots) => string.Join(';', slots.Select(FormatFds));

    public static List<List<int>> ParseSlots(string? text) =>
        string.IsNullOrWhiteSpace(text) ? [] : [.. text.Split(';').Select(ParseFds)];

    public static List<int> ParseFds(string? text) =>
        string.IsNullOrWhiteSpace(text)
            ? []
            : [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture))];

    /// <summary>Settings to the worker: the settings table's own JSON form.</summary>
    public static string SerializeSettings(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.ToJson();
    }

    public static Settings DeserializeSettings(string json) => Settings.FromJson(json);
}
