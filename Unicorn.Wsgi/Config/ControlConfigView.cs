using System.Collections;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// What the control socket's <c>show config</c> answers: the settings Gunicorn's control interface lists,
/// as plain values (strings, numbers, booleans, lists, null) a JSON reply can carry.
/// </summary>
public static class ControlConfigView
{
    private static readonly string[] Keys =
    [
        "bind", "workers", "worker_class", "threads", "timeout", "graceful_timeout", "keepalive", "max_requests",
        "max_requests_jitter", "worker_connections", "preload_app", "daemon", "pidfile", "proc_name", "reload",
        "dirty_workers", "dirty_apps", "dirty_timeout", "control_socket", "control_socket_disable", "max_worker_rss",
    ];

    public static IReadOnlyList<KeyValuePair<string, object?>> Of(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var view = new List<KeyValuePair<string, object?>>();
        foreach (var key in Keys)
        {
            if (!SettingsTable.ByName.ContainsKey(key))
            {
                continue;
            }

            // Gunicorn's handler reads cfg.proc_name, which falls back to default_proc_name (the APP_MODULE).
            object? value = key switch
            {
                "bind" => settings.Bind,
                "proc_name" => settings.ProcName,
                _ => settings.Get<object?>(key),
            };
            view.Add(new(key, Plain(value)));
        }

        return view;
    }

    private static object? Plain(object? value) => value switch
    {
        null or string or bool or int or long or double => value,
        IEnumerable list => list.Cast<object?>().Select(Plain).ToList(),
        _ => value.ToString(),
    };
}
