namespace Unicorn.Wsgi.Connections;

/// <summary>
/// Chooses the protocol handler for a connection: by the ALPN protocol its TLS handshake agreed on, else the
/// listener's default (today HTTP/1.1 everywhere). The ALPN names registered here are the ones TLS offers.
/// </summary>
internal sealed class ProtocolHandlers(IConnectionHandler fallback)
{
    private readonly Dictionary<string, IConnectionHandler> _byAlpn = new(StringComparer.Ordinal);
    private readonly List<string> _alpnNames = [];

    /// <summary>ALPN protocol names in the server's order of preference.</summary>
    public IReadOnlyList<string> ApplicationProtocols => _alpnNames;

    /// <summary>Serves connections whose handshake agreed on <paramref name="alpn"/> with <paramref name="handler"/>.</summary>
    public ProtocolHandlers Add(string alpn, IConnectionHandler handler)
    {
        if (_byAlpn.TryAdd(alpn, handler))
        {
            _alpnNames.Add(alpn);
        }

        return this;
    }

    public IConnectionHandler Select(ConnectionContext connection) =>
        connection.ApplicationProtocol is { } alpn && _byAlpn.TryGetValue(alpn, out var handler) ? handler : fallback;
}
