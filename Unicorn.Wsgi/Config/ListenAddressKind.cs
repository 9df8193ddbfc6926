namespace Unicorn.Wsgi.Config;

/// <summary>What a <c>bind</c> address names: a TCP host and port, a unix socket path, or an inherited descriptor.</summary>
public enum ListenAddressKind
{
    Tcp,
    Unix,
    Fd,
}
