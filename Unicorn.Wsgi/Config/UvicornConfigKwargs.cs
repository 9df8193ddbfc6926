namespace Unicorn.Wsgi.Config;

/// <summary>
/// uvicorn's <c>Config</c> keyword arguments, as a uvicorn worker subclass sets them in <c>CONFIG_KWARGS</c>, to the
/// settings that do the same here. uvicorn's worker applies them over what it takes from Gunicorn's settings, so they
/// win over the command line and the config file here too. A key with no equivalent is refused, never dropped.
/// </summary>
public static class UvicornConfigKwargs
{
    private static readonly Dictionary<string, string> s_settings = new(StringComparer.Ordinal)
    {
        ["loop"] = "asgi_loop",
        ["lifespan"] = "asgi_lifespan",
        ["root_path"] = "root_path",
        ["ws_max_size"] = "ws_max_size",
        ["ws_ping_interval"] = "ws_ping_interval",
        ["ws_ping_timeout"] = "ws_ping_timeout",
        ["forwarded_allow_ips"] = "forwarded_allow_ips",
        ["timeout_keep_alive"] = "keepalive",
        ["timeout_graceful_shutdown"] = "graceful_timeout",
        ["limit_max_requests"] = "max_requests",
        ["backlog"] = "backlog",
    };

    // Which implementation uvicorn parses HTTP and websockets with: here both are the server's own, so any of
    // uvicorn's choices serves the same protocol. "none" (Saleor's worker sets it: its app has no websocket routes)
    // turns uvicorn's websocket support off; here websockets stay served (docs/asgi.md). Its log level and colours
    // set only uvicorn's own loggers, which do not exist here.
    private static readonly Dictionary<string, string[]> s_implementations = new(StringComparer.Ordinal)
    {
        ["http"] = ["auto", "h11", "httptools"],
        ["ws"] = ["auto", "websockets", "websockets-sansio", "wsproto", "none"],
    };

    private static readonly HashSet<string> s_uvicornLogging = new(StringComparer.Ordinal) { "log_level", "use_colors" };

    /// <summary>Whether <paramref name="kwargs"/> set uvicorn's <c>factory</c>: the app named is a function that makes it.</summary>
    public static bool IsFactory(IReadOnlyList<KeyValuePair<string, object?>> kwargs) =>
        kwargs.Any(k => k.Key == "factory" && k.Value is true);

    /// <summary>The settings (name, value) <paramref name="kwargs"/> stand for, in the order they apply.</summary>
    /// <exception cref="ConfigException">a key has no equivalent here, or a value is not one uvicorn takes.</exception>
    public static IReadOnlyList<KeyValuePair<string, object?>> ToSettings(string workerClass, IReadOnlyList<KeyValuePair<string, object?>> kwargs)
    {
        var settings = new List<KeyValuePair<string, object?>>();
        var proxyHeaders = true;
        foreach (var (key, value) in kwargs)
        {
            if (s_settings.TryGetValue(key, out var setting))
            {
                settings.Add(new(setting, value));
            }
            else if (s_implementations.TryGetValue(key, out var choices))
            {
                if (value is not string choice || !choices.Contains(choice, StringComparer.Ordinal))
                {
                    throw Refused(workerClass, key, $"takes one of {string.Join(", ", choices)}");
                }
            }
            else if (key == "factory" && value is bool)
            {
                // The resolver calls the app (IsFactory): uvicorn's factory=True is APP_MODULE's "module:make_app()".
            }
            else if (key == "proxy_headers" && value is bool proxy)
            {
                proxyHeaders = proxy;
            }
            else if (key == "access_log" && value is bool access)
            {
                if (!access)
                {
                    settings.Add(new("accesslog", null));
                }
            }
            else if (!s_uvicornLogging.Contains(key))
            {
                throw Refused(workerClass, key, "has no equivalent in Unicorn");
            }
        }

        // Without proxy headers uvicorn trusts no forwarder: the client and scheme are the socket's.
        if (!proxyHeaders)
        {
            settings.Add(new("forwarded_allow_ips", ""));
        }

        return settings;
    }

    private static ConfigException Refused(string workerClass, string key, string why) =>
        new($"unicorn: worker class '{workerClass}' (-k/--worker-class): CONFIG_KWARGS['{key}'] {why}");
}
