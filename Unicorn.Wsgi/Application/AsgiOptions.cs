namespace Unicorn.Wsgi.Application;

/// <summary>What the ASGI loop needs from the settings (asgi_loop, asgi_lifespan, root_path, asgi_disconnect_grace_period).</summary>
public sealed record AsgiOptions
{
    /// <summary>auto, asyncio or uvloop.</summary>
    public string Loop { get; init; } = "auto";

    /// <summary>auto, on or off.</summary>
    public string Lifespan { get; init; } = "auto";

    public string RootPath { get; init; } = "";

    public TimeSpan DisconnectGracePeriod { get; init; } = TimeSpan.FromSeconds(3);
}
