namespace Unicorn.Wsgi.Connections;

/// <summary>How a connection's parked wait for bytes (<see cref="ParkedRead"/>) ended.</summary>
internal enum ParkOutcome
{
    /// <summary>The socket is readable (bytes, end of input or an error): read it now.</summary>
    Readable,

    /// <summary>The wait's deadline passed first.</summary>
    TimedOut,

    /// <summary>The worker closed the connection for its slot.</summary>
    Evicted,

    /// <summary>The waiting thread stopped waiting (the worker is stopping): wait as any other connection.</summary>
    Released,
}
