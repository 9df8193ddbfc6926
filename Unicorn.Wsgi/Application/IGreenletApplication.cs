namespace Unicorn.Wsgi.Application;

/// <summary>
/// The app run as greenlets (gevent, eventlet): one hub thread runs a cooperative loop that starts a
/// greenlet per request and runs the WSGI call, body reads and writes there, in Python.
/// </summary>
public interface IGreenletApplication
{
    /// <summary>
    /// Runs the hub on the calling thread until <paramref name="hub"/> says it is stopping and every request
    /// it took has finished. Blocks; returns normally, or throws when the loop could not run at all.
    /// </summary>
    void RunHub(IGreenletHub hub);
}
