using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// An <see cref="IdleAcceptor"/> on a loopback listener, run by a thread of its own as a sync worker's Python
/// thread runs it; each connection it hands on is recorded with the bytes readable at that moment, then closed.
/// </summary>
internal sealed class StandaloneAcceptor : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly SemaphoreSlim _slots = new(16);
    private readonly CancellationTokenSource _stop = new();
    private readonly IdleAcceptor _acceptor;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _go = new();
    private volatile bool _started;

    /// <param name="held">The thread starts accepting only at <see cref="Go"/>.</param>
    public StandaloneAcceptor(TimeSpan firstBytesWait, bool held = false)
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        _acceptor = new IdleAcceptor([new ListenerInfo(_listener)], _slots, new IdleConnections(), OnServe, new StderrErrorLog(LogLevel.Debug, TextWriter.Null), _stop.Token, firstBytesWait);
        _acceptor.Start();
        if (!held)
        {
            _go.Set();
        }

        _thread = new Thread(() =>
        {
            _go.Wait();
            do
            {
                _started = true;
            }
            while (_acceptor.WaitOrServe());
        }) { IsBackground = true };
        _thread.Start();
    }

    /// <summary>The readable byte count of each connection when it was handed on, in order.</summary>
    public ConcurrentQueue<int> Served { get; } = new();

    /// <summary>The thread has begun accepting.</summary>
    public bool Started => _started;

    public IdleAcceptor Acceptor => _acceptor;

    public void Go() => _go.Set();

    public async Task<Socket> ConnectAsync()
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)_listener.LocalEndPoint!).Port);
        return s;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _go.Set();
        await _acceptor.Completion.WaitAsync(TimeSpan.FromSeconds(20));
        _thread.Join(TimeSpan.FromSeconds(20));
        _acceptor.Dispose();
        _listener.Dispose();
        _stop.Dispose();
        _slots.Dispose();
        _go.Dispose();
    }

    private void OnServe(Socket client, ListenerInfo listener)
    {
        Served.Enqueue(client.Available);
        client.Dispose();
        _slots.Release();
    }
}
