using System.Net.Sockets;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Workers.Hosts;

namespace Unicorn.Wsgi.Workers;

// worker_spares: a parked spare's synthetic requests, which compile the request path before promotion.
public sealed partial class Worker
{
    // Two keep-alive requests (one with a body to drain), then one that closes: the connection's whole life.
    private static readonly byte[] SyntheticRequests = System.Text.Encoding.ASCII.GetBytes(
        "GET /warm-up?a=1 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: unicorn-warm-up\r\n\r\n" +
        "POST /warm-up HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello" +
        "GET /warm-up HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");

    private const int SyntheticRequestsPerConnection = 3;

    /// <summary>
    /// worker_spares: serves <paramref name="connections"/> synthetic HTTP/1.1 connections over socketpairs
    /// to <paramref name="app"/> (the bridge's own app, never the user's) through a worker of its own with
    /// the same settings, host and connection pipeline, then stops it. A parked spare calls this so its first
    /// real connection runs code the JIT has already compiled, the generic async instantiations
    /// (<see cref="JitWarmUp"/> cannot reach them) included. Returns the responses read; 0 where HTTP/1.1
    /// requests are not what the worker serves (protocol = uwsgi, h2 only) or its host is not a thread pool.
    /// Once <paramref name="cancel"/> is set no further connection starts.
    /// </summary>
    internal static int WarmUp(Settings settings, ILoadedApp app, IErrorLog log, int connections, CancellationToken cancel = default)
    {
        if (!CanWarmUp(settings))
        {
            return 0;
        }

        var worker = new Worker(settings, [], AppHosts.Create(settings, app, log), log);
        return worker.ServeSynthetic(connections, cancel);
    }

    /// <summary>Whether <see cref="WarmUp"/> serves anything for these settings (HTTP/1.1 on a thread-pool host).</summary>
    internal static bool CanWarmUp(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return !settings.UwsgiProtocol && settings.OffersHttp1 && AppHosts.RunsWsgiThreads(settings);
    }

    private int ServeSynthetic(int connections, CancellationToken cancel)
    {
        var context = new WorkerContext(_options, _host, _log, _stopAccepting.Token, OnRequestStarting, OnRequestDone);
        var pipeline = new ConnectionPipeline(_options.Parser, _options.ReadTimeout, null, Http1Only(new Http1ConnectionHandler(context)), _log);
        _host.Start();
        var answered = 0;
        var buffer = new byte[16 * 1024];
        try
        {
            for (var i = 0; i < connections && !cancel.IsCancellationRequested; i++)
            {
                var (server, client) = Libc.SocketPair();
                var serverSocket = new Socket(new SafeSocketHandle(server, ownsHandle: true));
                using var clientSocket = new Socket(new SafeSocketHandle(client, ownsHandle: true)) { ReceiveTimeout = 10_000 };
                clientSocket.Send(SyntheticRequests);
                _connectionSlots.Wait();
                Serve(serverSocket, new ListenerInfo(serverSocket), pipeline);
                var received = 0;
                while (received < buffer.Length && clientSocket.Receive(buffer, received, buffer.Length - received, SocketFlags.None) is > 0 and var n)
                {
                    received += n;
                }

                if (CountResponses(buffer.AsSpan(0, received)) != SyntheticRequestsPerConnection)
                {
                    break;
                }

                answered += SyntheticRequestsPerConnection;
            }
        }
        catch (SocketException)
        {
            // A response that never came (ReceiveTimeout): the warm-up ends with what it compiled so far.
        }
        finally
        {
            StopNow();
            _ = _host.StopAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
        }

        return answered;
    }

    private static int CountResponses(ReadOnlySpan<byte> received)
    {
        var count = 0;
        for (var at = received.IndexOf("HTTP/1.1 200 "u8); at >= 0; at = received.IndexOf("HTTP/1.1 200 "u8))
        {
            count++;
            received = received[(at + 1)..];
        }

        return count;
    }
}
