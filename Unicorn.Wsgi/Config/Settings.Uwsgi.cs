namespace Unicorn.Wsgi.Config;

// Typed views of the uwsgi protocol's settings (Workers/UwsgiConnectionHandler).
public sealed partial class Settings
{
    /// <summary><c>protocol = uwsgi</c>: the listeners speak the uwsgi binary protocol instead of HTTP.</summary>
    public bool UwsgiProtocol => Get<string>("protocol") == "uwsgi";

    /// <summary><c>uwsgi_allow_ips</c>: peers allowed to send uwsgi packets (a unix-socket peer always is).</summary>
    public IpAllowList UwsgiAllowIps => Get<IpAllowList>("uwsgi_allow_ips");
}
