using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

/// <summary>uvicorn's reading of X-Forwarded-For for the ASGI client under its worker class (uvicorn's ProxyHeadersMiddleware).</summary>
public sealed class ForwardedForTests
{
    private static readonly IpAllowList Proxies = IpAllowList.Parse(["127.0.0.1", "10.0.0.0/8"]);

    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("203.0.113.7, 10.1.2.3", "203.0.113.7")] // the nearest hop that is not a trusted proxy
    [InlineData("198.51.100.1, 203.0.113.7, 10.1.2.3, 127.0.0.1", "203.0.113.7")] // a client-sent hop further left is not believed
    [InlineData("10.9.9.9, 127.0.0.1", "10.9.9.9")] // every hop trusted: the left-most
    [InlineData(" 203.0.113.7 ,, ", "203.0.113.7")]
    [InlineData("unknown, 10.1.2.3", "unknown")] // not an address, so not a trusted proxy
    [InlineData("", null)]
    [InlineData(null, null)]
    public void The_client_is_the_nearest_untrusted_hop(string? header, string? client) =>
        Assert.Equal(client, ForwardedFor.Client(header, Proxies));

    [Fact]
    public void When_everyone_is_trusted_the_left_most_hop_is_the_client() =>
        Assert.Equal("198.51.100.1", ForwardedFor.Client("198.51.100.1, 203.0.113.7", IpAllowList.Parse(["*"])));
}
