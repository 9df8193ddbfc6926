namespace Unicorn.Wsgi.Connections;

/// <summary>
/// What a PROXY protocol header said about the real client. <see cref="Protocol"/> is "TCP4", "TCP6",
/// or for headers without addresses v1 "UNKNOWN" or v2 "LOCAL" / "UNSPEC" (then the addresses are null).
/// </summary>
public sealed record ProxyInfo(string Protocol, string? ClientAddress, int? ClientPort, string? ProxyAddress, int? ProxyPort);
