namespace Unicorn.Wsgi.Config;

// Typed views of the settings the ASGI worker class reads (Workers/Hosts/AsgiHostFactory builds its options from these).
public sealed partial class Settings
{
    /// <summary><c>asgi_loop</c>: auto, asyncio or uvloop.</summary>
    public string AsgiLoop => Get<string?>("asgi_loop") ?? "auto";

    /// <summary><c>asgi_lifespan</c>: auto, on or off.</summary>
    public string AsgiLifespan => Get<string?>("asgi_lifespan") ?? "auto";

    public int AsgiDisconnectGracePeriod => Get<int>("asgi_disconnect_grace_period");

    /// <summary><c>root_path</c>: the ASGI scope's root_path; unset is empty.</summary>
    public string RootPath => Get<string?>("root_path") ?? "";

    public int WsMaxSize => Get<int>("ws_max_size");

    public int WsPingInterval => Get<int>("ws_ping_interval");

    public int WsPingTimeout => Get<int>("ws_ping_timeout");
}
