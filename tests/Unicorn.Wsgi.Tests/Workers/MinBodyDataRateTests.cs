using System.Diagnostics;
using System.IO.Pipelines;
using Unicorn.Wsgi.Application;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>
/// <c>min_request_body_rate</c> on a streamed body: only time spent waiting for the client counts (as Kestrel pauses
/// its rate timer while the app is not reading), and a read that the rate bounds fails as a body read's timeout does.
/// A 1 s grace keeps these fast.
/// </summary>
public class MinBodyDataRateTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly MinBodyDataRate Rate = new(1000, GraceMilliseconds: 1000);

    private static (PipeWriter Client, PipeRequestBody Body) Open()
    {
        var wire = new Pipe();
        var reader = PipeReader.Create(wire.Reader.AsStream());
        return (wire.Writer, new PipeRequestBody(reader, 100, null, ReadOnlyMemory<byte>.Empty, Timeout, Rate));
    }

    [Fact]
    public async Task Time_the_app_spends_not_reading_does_not_count_against_the_client()
    {
        var (client, body) = Open();
        await client.WriteAsync(new byte[10]);
        var buffer = new byte[100];
        Assert.Equal(10, body.Read(buffer));

        await Task.Delay(2000); // the app busy elsewhere, past the grace, with no read waiting
        _ = Task.Run(async () =>
        {
            await Task.Delay(100);
            await client.WriteAsync(new byte[10]);
        });
        Assert.Equal(10, body.Read(buffer)); // waited 100 ms of its 1 s grace
    }

    [Fact]
    public async Task A_client_below_the_rate_fails_the_read_once_the_grace_is_spent()
    {
        var (client, body) = Open();
        await client.WriteAsync(new byte[10]);
        var buffer = new byte[100];
        Assert.Equal(10, body.Read(buffer));

        var watch = Stopwatch.StartNew();
        var e = Assert.Throws<RequestBodyTimeoutException>(() => body.Read(buffer));
        Assert.Equal("Request body arrived below min_request_body_rate (1000 bytes/s)", e.Message);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Bytes_received_earn_waiting_time_and_zero_turns_the_rate_off()
    {
        var timeout = TimeSpan.FromSeconds(30);
        Assert.Equal((TimeSpan.FromMilliseconds(1000), true), Rate.NextWait(0, 0, timeout));
        Assert.Equal((TimeSpan.FromMilliseconds(500), true), Rate.NextWait(0, 500, timeout));
        Assert.Equal((TimeSpan.FromMilliseconds(2000), true), Rate.NextWait(3000, 1000, timeout)); // 3 s earned
        Assert.Equal((TimeSpan.Zero, true), Rate.NextWait(10, 2000, timeout));
        Assert.Equal((timeout, false), Rate.NextWait(1_000_000, 0, timeout)); // the read's timeout comes first
        Assert.Equal((timeout, false), new MinBodyDataRate(0).NextWait(0, 1_000_000, timeout));
    }
}
