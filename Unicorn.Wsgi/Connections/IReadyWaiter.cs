using System.Net.Sockets;

namespace Unicorn.Wsgi.Connections;

/// <summary>
/// A thread that waits for idle connections' next bytes in its own poll loop rather than the socket engine's
/// (the sync worker's Python thread): the request that arrives is then read and run on that thread, with no
/// hand-over from the engine's thread to it.
/// </summary>
internal interface IReadyWaiter
{
    /// <summary>
    /// Starts waiting, until <paramref name="deadline"/> (<see cref="Environment.TickCount64"/>), for
    /// <paramref name="socket"/> to become readable; <paramref name="wait"/> completes when it does. False when
    /// this thread cannot wait for it (another thread, or waiting has stopped): read as usual.
    /// </summary>
    bool TryPark(ParkedRead parked, Socket socket, long deadline, out ValueTask<ParkOutcome> wait);
}
