namespace Unicorn.Wsgi.Connections;

/// <summary>
/// A protocol spoken on a connection once the pipeline's stages (PROXY, TLS) are done: HTTP/1.1 today
/// (Workers/Http1ConnectionHandler); HTTP/2 or uwsgi join by implementing this and registering in
/// <see cref="ProtocolHandlers"/>. One instance per worker; per-connection state belongs in the object
/// <see cref="RunAsync"/> creates.
/// </summary>
internal interface IConnectionHandler
{
    /// <summary>
    /// Serves <paramref name="connection"/> until it is done: reads <see cref="ConnectionContext.Input"/>, writes
    /// <see cref="ConnectionContext.Transport"/>, hands requests to the app host, and answers its own protocol's
    /// errors. The pipeline disposes the connection afterwards.
    /// </summary>
    Task RunAsync(ConnectionContext connection);
}
