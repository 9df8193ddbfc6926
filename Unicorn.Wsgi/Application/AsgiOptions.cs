namespace Unicorn.Wsgi.Application;

/// <summary>What the ASGI loop needs from the settings (asgi_loop, asgi_lifespan, root_path, asgi_disconnect_grace_period).</summary>
public sealed record AsgiOptions
{
    /// <summary>auto, asyncio or uvloop.</summary>
    public string Loop { get; init; } = "auto";

    /// <summary>auto, on or off.</summary>
    public string Lifespan { get; init; } = "auto";

    /// <summary>
    /// True under uvicorn's worker class: an app that reports <c>lifespan.startup.failed</c> stops the worker under
    /// <c>auto</c> too, as uvicorn does; Gunicorn's asgi worker serves it without lifespan. An app that raises instead
    /// is taken for one without lifespan support under both.
    /// </summary>
    public bool ReportedStartupFailureStops { get; init; }

    public string RootPath { get; init; } = "";

    public TimeSpan DisconnectGracePeriod { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>ws_max_size: the largest websocket message, in bytes.</summary>
    public int WsMaxSize { get; init; } = 16 * 1024 * 1024;

    /// <summary>ws_ping_interval; zero sends no pings.</summary>
    public TimeSpan WsPingInterval { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>ws_ping_timeout; zero waits for no pong.</summary>
    public TimeSpan WsPingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The scope's client from the socket's peer and its <c>X-Forwarded-For</c> (null when they name none), as
    /// uvicorn's worker class reads them (its proxy headers, with <c>forwarded_allow_ips</c>); null for Gunicorn's
    /// asgi worker, whose client is the socket's peer.
    /// </summary>
    public Func<System.Net.IPAddress?, string?, string?>? ForwardedClient { get; init; }
}
