namespace Unicorn.Wsgi.Application;

/// <summary>
/// The hand-over point of an HTTP/1 connection that may switch protocols (a websocket upgrade). The host that
/// accepts the upgrade writes the 101 response itself on the stream it takes; the connection then serves no
/// further request and closes once the host's task ends.
/// </summary>
public interface IConnectionUpgrade
{
    /// <summary>The worker's graceful stop: an upgraded connection should close (websocket 1001) when it fires.</summary>
    CancellationToken Stopping { get; }

    /// <summary>Takes the connection's byte stream (with any bytes already read past the request head); call at most once.</summary>
    Stream TakeStream();
}
