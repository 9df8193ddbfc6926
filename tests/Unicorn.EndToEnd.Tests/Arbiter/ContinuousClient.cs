namespace Unicorn.EndToEnd.Tests.Arbiter;

/// <summary>Sends requests one after another on a background thread and counts failures.</summary>
public sealed class ContinuousClient : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;
    private int _ok;
    private readonly List<string> _failures = [];
    private readonly HashSet<string> _bodies = [];

    public ContinuousClient(int port, string path = "/pid")
    {
        _thread = new Thread(() =>
        {
            while (!_stop)
            {
                try
                {
                    var (status, body) = UnicornServer.Get(port, path);
                    if (status == 200)
                    {
                        Interlocked.Increment(ref _ok);
                        lock (_bodies)
                        {
                            _bodies.Add(body);
                        }
                    }
                    else
                    {
                        lock (_failures)
                        {
                            _failures.Add($"status {status}");
                        }
                    }
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
                {
                    lock (_failures)
                    {
                        _failures.Add(e.Message);
                    }
                }

                Thread.Sleep(5);
            }
        })
        { IsBackground = true };
        _thread.Start();
    }

    public int Succeeded => Volatile.Read(ref _ok);

    public List<string> Failures
    {
        get
        {
            lock (_failures)
            {
                return [.. _failures];
            }
        }
    }

    public HashSet<string> Bodies
    {
        get
        {
            lock (_bodies)
            {
                return [.. _bodies];
            }
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}
