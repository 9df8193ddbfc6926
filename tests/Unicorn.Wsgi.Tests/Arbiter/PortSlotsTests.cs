using System.Net;
using System.Net.Sockets;
using Unicorn.Wsgi.Arbiter;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.Transport.Listeners;

namespace Unicorn.Wsgi.Tests.Arbiter;

#pragma warning disable CA1416 // Linux only

/// <summary>The master's reuse_port slots: which slot a new worker gets, and which slots are closed.</summary>
public class PortSlotsTests
{
    private static readonly ListenerOptions Options = new() { ReusePort = true, RetryDelay = TimeSpan.FromMilliseconds(10) };

    private static PortSlots Open(params IReadOnlyList<int>[] inherited)
    {
        var slots = new PortSlots([ListenAddress.Parse("127.0.0.1:0")], Options, new StderrErrorLog(LogLevel.Critical, TextWriter.Null));
        slots.Open(inherited);
        return slots;
    }

    private static int PortOf(PortSlot slot) => ((IPEndPoint)slot.Sockets[0].Socket.LocalEndPoint!).Port;

    [Fact]
    public void A_new_worker_takes_the_slot_of_one_that_no_longer_accepts_else_a_new_slot_on_the_same_port()
    {
        using var slots = Open();
        var accepting = new HashSet<int>();
        var first = slots.Claim(accepting.Contains);
        first.Holders.Add(101);
        accepting.Add(101);

        var second = slots.Claim(accepting.Contains);
        Assert.NotSame(first, second);
        Assert.Equal(PortOf(first), PortOf(second)); // port 0: later slots join the first one's port
        Assert.False(Libc.IsInheritable(second.Fds[0])); // a worker gets its own slot alone
        second.Holders.Add(102);
        accepting.Add(102);

        accepting.Remove(101); // retiring, stopped or replaced by a HUP: its replacement takes over its queue
        Assert.Same(first, slots.Claim(accepting.Contains));
        slots.Release(101); // reaped, with no replacement yet: the slot waits
        Assert.Same(first, slots.Claim(accepting.Contains));
        Assert.Equal(2, slots.Count);
    }

    [Fact]
    public void Only_slots_beyond_the_worker_count_that_no_worker_accepts_from_are_closed()
    {
        using var slots = Open();
        var accepting = new HashSet<int> { 1, 2, 3 };
        var claimed = new List<PortSlot>();
        foreach (var pid in accepting)
        {
            var slot = slots.Claim(accepting.Contains);
            slot.Holders.Add(pid);
            claimed.Add(slot);
        }

        Assert.Equal(3, claimed.Distinct().Count());
        slots.Trim(2, accepting.Contains);
        Assert.Equal(3, slots.Count); // every slot has its worker

        accepting.Remove(1); // TTOU stopped the worker of the first slot
        slots.Trim(3, accepting.Contains);
        Assert.Equal(3, slots.Count); // still needed: a replacement will take it
        slots.Trim(2, accepting.Contains);
        Assert.Equal(2, slots.Count);
        Assert.Throws<ObjectDisposedException>(() => claimed[0].Sockets[0].Socket.Poll(0, SelectMode.SelectRead));
        Assert.False(claimed[1].Sockets[0].Socket.Poll(0, SelectMode.SelectError));
    }

    [Fact]
    public void A_usr2_master_adopts_the_slots_handed_to_it_on_its_port_and_closes_others()
    {
        using var old = Open();
        var kept = old.Claim(_ => true);
        using var elsewhere = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        elsewhere.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        elsewhere.Listen();

        // The new master's copies of the descriptors, as a spawn would give it.
        const int F_DUPFD_CLOEXEC = 1030;
        int Dup(int fd) => Libc.fcntl(fd, F_DUPFD_CLOEXEC, 0);
        var handed = Dup(kept.Fds[0]);
        var stranger = Dup((int)elsewhere.Handle);
        var port = PortOf(kept);
        using var adopting = new PortSlots([ListenAddress.Parse($"127.0.0.1:{port}")], Options, new StderrErrorLog(LogLevel.Critical, TextWriter.Null));
        adopting.Open([[stranger], [handed]]);

        Assert.Equal(1, adopting.Count);
        Assert.Equal(handed, adopting.First[0].Fd);
        Assert.False(Libc.IsOpen(stranger));
    }
}
