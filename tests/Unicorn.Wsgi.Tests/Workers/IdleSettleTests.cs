using System.Diagnostics;
using Unicorn.Wsgi.Workers;

namespace Unicorn.Wsgi.Tests.Workers;

public class IdleSettleTests
{
    private static readonly TimeSpan After = TimeSpan.FromSeconds(5);

    private static long At(double seconds) => (long)(seconds * Stopwatch.Frequency);

    [Fact]
    public void IsDueOnceAfterTheQuietTimeWithNoRequestCompletedOrRunning()
    {
        var settle = new IdleSettle(After);
        Assert.False(settle.Due(10, busy: false, At(0)));
        Assert.False(settle.Due(10, busy: false, At(4.9)));
        Assert.True(settle.Due(10, busy: false, At(5.1)));
        Assert.False(settle.Due(10, busy: false, At(60)));
    }

    [Fact]
    public void ACompletedRequestStartsANewQuietSpell()
    {
        var settle = new IdleSettle(After);
        Assert.False(settle.Due(0, busy: false, At(0)));
        Assert.True(settle.Due(0, busy: false, At(6)));
        Assert.False(settle.Due(1, busy: false, At(7)));
        Assert.False(settle.Due(1, busy: false, At(11)));
        Assert.True(settle.Due(1, busy: false, At(12.5)));
    }

    [Fact]
    public void ARunningRequestIsNotQuiet()
    {
        var settle = new IdleSettle(After);
        Assert.False(settle.Due(3, busy: false, At(0)));
        Assert.False(settle.Due(3, busy: true, At(6)));
        Assert.False(settle.Due(3, busy: true, At(30)));
        Assert.False(settle.Due(3, busy: false, At(31)));
        Assert.True(settle.Due(3, busy: false, At(36.5)));
    }
}
