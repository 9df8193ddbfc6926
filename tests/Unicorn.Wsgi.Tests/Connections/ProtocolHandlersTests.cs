using System.Net;
using System.Net.Sockets;
using Unicorn.Wsgi.Connections;

namespace Unicorn.Wsgi.Tests.Connections;

/// <summary>How a second protocol joins: by its ALPN name, beside the default handler, without touching it.</summary>
public sealed class ProtocolHandlersTests
{
    private sealed class Named(string name) : IConnectionHandler
    {
        public string Name { get; } = name;

        public Task RunAsync(ConnectionContext connection) => Task.CompletedTask;
    }

    [Fact]
    public void Alpn_picks_a_registered_handler_and_anything_else_gets_the_default()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var http1 = new Named("http1");
        var h2 = new Named("h2");
        var handlers = new ProtocolHandlers(http1).Add("h2", h2).Add("http/1.1", http1);
        Assert.Equal(["h2", "http/1.1"], handlers.ApplicationProtocols);

        ConnectionContext With(string? alpn)
        {
            var c = new ConnectionContext(new MemoryStream(), new ListenerInfo(socket), null, false, new IdleConnections());
            if (alpn is not null)
            {
                c.UseTls(new MemoryStream(), null, alpn);
            }

            return c;
        }

        Assert.Same(h2, handlers.Select(With("h2")));
        Assert.Same(http1, handlers.Select(With("http/1.1")));
        Assert.Same(http1, handlers.Select(With(null)));
        Assert.Same(http1, handlers.Select(With("spdy/3")));
    }
}
