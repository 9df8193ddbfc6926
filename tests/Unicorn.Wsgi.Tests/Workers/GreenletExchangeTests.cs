using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Workers.Hosts;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// A greenlet's side of a request never blocks: writes are queued and drained into the blocking sink off the
/// hub, a greenlet past the high-water mark is told to wait and is woken once the client has caught up, and a
/// client that went away stops the greenlet instead of holding it.
/// </summary>
public sealed class GreenletExchangeTests
{
    private static readonly IErrorLog s_log = new StderrErrorLog(LogLevel.Debug, TextWriter.Null);

    [Fact]
    public async Task A_write_past_the_high_water_mark_waits_and_the_drain_wakes_the_greenlet()
    {
        var sink = new GatedSink();
        var ready = new BlockingCollection<long>();
        var exchange = new GreenletExchange(7, Request(), sink, new GreenletExchange.Hub(ready.Add, _ => { }, s_log));
        exchange.SetResponse("200 OK", []);

        // The sink is blocked (a client not reading): the greenlet's calls still return at once.
        Assert.Equal(GreenletWrite.Accepted, exchange.Write(new byte[1000]));
        var outcome = GreenletWrite.Accepted;
        var writes = 0;
        for (; writes < 10 && outcome == GreenletWrite.Accepted; writes++)
        {
            outcome = exchange.Write(new byte[GreenletExchange.HighWater / 4]);
        }

        Assert.Equal(GreenletWrite.Wait, outcome);
        Assert.Equal(4, writes); // 1,000 bytes and four quarters are past the mark
        Assert.False(ready.TryTake(out _, 200)); // nothing drained yet: the greenlet stays suspended

        sink.Open();
        Assert.True(ready.TryTake(out var id, 10_000));
        Assert.Equal(7, id);

        exchange.Complete();
        await exchange.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(sink.Completed);
        Assert.Equal(1000 + (4 * (GreenletExchange.HighWater / 4)), sink.Written);
    }

    [Fact]
    public async Task A_client_that_went_away_wakes_a_waiting_greenlet_and_stops_its_writes()
    {
        var sink = new GatedSink { Fails = true };
        var ready = new BlockingCollection<long>();
        var finished = 0;
        var exchange = new GreenletExchange(3, Request(), sink, new GreenletExchange.Hub(ready.Add, _ => finished++, s_log));
        exchange.SetResponse("200 OK", []);

        Assert.Equal(GreenletWrite.Wait, exchange.Write(new byte[GreenletExchange.HighWater + 1]));
        sink.Open();
        Assert.True(ready.TryTake(out var id, 10_000));
        Assert.Equal(3, id);
        Assert.Equal(GreenletWrite.ClientGone, exchange.Write(new byte[10]));

        exchange.Abort();
        await exchange.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(sink.Aborted);
        Assert.Equal(1, finished);
    }

    [Fact]
    public async Task An_app_error_before_any_byte_is_a_500_page()
    {
        var sink = new GatedSink();
        sink.Open();
        var exchange = new GreenletExchange(1, Request(), sink, new GreenletExchange.Hub(_ => { }, _ => { }, s_log));

        exchange.Fail("Error handling request /", "Traceback: boom");
        await exchange.Completion.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("500 Internal Server Error", sink.Status);
        Assert.True(sink.Completed);
    }

    /// <summary>A plain GET / request, for exchanges that need one.</summary>
    internal static WsgiRequest Request() => new()
    {
        Method = "GET",
        RawUri = "/",
        Path = "/",
        Query = "",
        Protocol = "HTTP/1.1",
        VersionMinor = 1,
        Headers = [],
        Body = RequestBody.Empty,
        ServerName = "localhost",
        ServerPort = "80",
    };

    /// <summary>A sink whose writes block until <see cref="Open"/>, like a client that does not read.</summary>
    private sealed class GatedSink : IResponseSink
    {
        private readonly ManualResetEventSlim _open = new();

        public bool Fails { get; init; }

        public bool HeadersSent { get; private set; }

        public string? Status { get; private set; }

        public long Written { get; private set; }

        public bool Completed { get; private set; }

        public bool Aborted { get; private set; }

        public void Open() => _open.Set();

        public void SetResponse(string status, IReadOnlyList<KeyValuePair<string, string>> headers) => Status = status;

        public void Write(ReadOnlySpan<byte> data)
        {
            _open.Wait();
            if (Fails)
            {
                throw new IOException("client went away");
            }

            HeadersSent = true;
            Written += data.Length;
        }

        public void Flush()
        {
        }

        public bool TrySendFile(SafeFileHandle file, long offset, long count) => false;

        public void Complete()
        {
            HeadersSent = true;
            Completed = true;
        }

        public void Abort() => Aborted = true;
    }
}
