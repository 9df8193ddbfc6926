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
        var sink = new GatedSink { Failure = new IOException("client went away") };
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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_out_of_memory_in_the_drain_is_logged_once_and_ends_the_request_as_a_client_gone(bool file)
    {
        // The drain met what worker_heap_limit throws: the greenlet waiting on it must still wake, its next write
        // stop it (so the app's iterable is closed), and the connection close, not hang until the worker is killed.
        var sink = new GatedSink { Failure = new OutOfMemoryException() };
        var log = new ListLog();
        var ready = new BlockingCollection<long>();
        var finished = 0;
        var exchange = new GreenletExchange(4, Request(), sink, new GreenletExchange.Hub(ready.Add, _ => finished++, log));
        exchange.SetResponse("200 OK", []);

        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[GreenletExchange.HighWater + 1]);
            var outcome = file
                ? exchange.SendFile(File.OpenHandle(path), 0, GreenletExchange.HighWater + 1)
                : exchange.Write(new byte[GreenletExchange.HighWater + 1]);
            Assert.Equal(GreenletWrite.Wait, outcome);
            sink.Open();
            Assert.True(ready.TryTake(out var id, 10_000));
            Assert.Equal(4, id);
            Assert.Equal(GreenletWrite.ClientGone, exchange.Write(new byte[10]));

            exchange.Abort();
            await exchange.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            File.Delete(path);
        }

        Assert.True(sink.Aborted);
        Assert.Equal(1, finished);
        var (level, message) = Assert.Single(log.Lines);
        Assert.Equal(LogLevel.Error, level);
        Assert.StartsWith("Error handling request GET /: OutOfMemoryException: ", message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message); // one line: no .NET stack trace
    }

    [Fact]
    public async Task An_out_of_memory_ending_the_response_still_ends_the_request_and_closes_the_connection()
    {
        var sink = new GatedSink { CompleteFailure = new OutOfMemoryException() };
        sink.Open();
        var log = new ListLog();
        var finished = 0;
        var exchange = new GreenletExchange(2, Request(), sink, new GreenletExchange.Hub(_ => { }, _ => finished++, log));
        exchange.SetResponse("200 OK", []);

        Assert.Equal(GreenletWrite.Accepted, exchange.Write(new byte[10]));
        exchange.Complete();
        await exchange.Completion.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(sink.Aborted);
        Assert.Equal(1, finished);
        var (level, message) = Assert.Single(log.Lines);
        Assert.Equal(LogLevel.Error, level);
        Assert.StartsWith("Error handling request GET /: OutOfMemoryException: ", message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
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

        /// <summary>What every write (and sendfile) throws once open.</summary>
        public Exception? Failure { get; init; }

        /// <summary>What <see cref="Complete"/> throws.</summary>
        public Exception? CompleteFailure { get; init; }

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
            if (Failure is not null)
            {
                throw Failure;
            }

            HeadersSent = true;
            Written += data.Length;
        }

        public void Flush()
        {
        }

        public bool TrySendFile(SafeFileHandle file, long offset, long count)
        {
            _open.Wait();
            if (Failure is not null)
            {
                throw Failure;
            }

            return false;
        }

        public void Complete()
        {
            if (CompleteFailure is not null)
            {
                throw CompleteFailure;
            }

            HeadersSent = true;
            Completed = true;
        }

        public void Abort() => Aborted = true;
    }

    /// <summary>The error log's lines, in order.</summary>
    private sealed class ListLog : IErrorLog
    {
        public List<(LogLevel Level, string Message)> Lines { get; } = [];

        public bool IsEnabled(LogLevel level) => true;

        public void Log(LogLevel level, string message)
        {
            lock (Lines)
            {
                Lines.Add((level, message));
            }
        }
    }
}
