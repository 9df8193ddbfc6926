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

    /// <summary>Makes a <see cref="WaitOrServe"/> in progress (or the next one) return soon: work was queued.</summary>
    void Wake();
}
