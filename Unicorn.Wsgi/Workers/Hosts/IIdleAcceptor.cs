namespace Unicorn.Wsgi.Workers.Hosts;

/// <summary>
/// What an idle app thread does instead of sleeping (the sync worker, as Gunicorn's: it accepts only when it
/// is free): wait for a connection, accept it and run it on this thread up to its first wait for bytes, so a
/// request whose bytes are already there runs here with no hand-over to another thread.
/// </summary>
public interface IIdleAcceptor
{
    /// <summary>
    /// Blocks until <see cref="Wake"/> is called or one connection has been accepted and run up to its first
    /// wait. False once accepting has stopped for good (the host then waits for queued requests only).
    /// </summary>
    bool WaitOrServe();

    /// <summary>
    /// Without blocking, accepts the connections waiting in the listen queues (a few at most) and runs each up to
    /// its first request, which the host queues behind the ones it has. The host calls it between queued requests
    /// now and then: while its open connections keep it busy, new ones would otherwise wait until they fall
    /// silent. False once accepting has stopped for good.
    /// </summary>
    bool AcceptWaiting();

    /// <summary>Makes a <see cref="WaitOrServe"/> in progress (or the next one) return soon: work was queued.</summary>
    void Wake();
}
