namespace Unicorn.Wsgi.Config;

/// <summary>Gunicorn's <c>proxy_protocol</c> setting: which PROXY protocol header the first request may carry.</summary>
public enum ProxyProtocolMode
{
    Off,
    V1,
    V2,

    /// <summary>Either version, detected by its signature (the setting's value <c>true</c>/<c>auto</c>).</summary>
    Auto,
}
