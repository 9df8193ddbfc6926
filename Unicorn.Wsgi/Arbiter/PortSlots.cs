using System.Net;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.Logging;
using Unicorn.Wsgi.ProcessContract;
using Unicorn.Wsgi.Transport.Listeners;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>
/// reuse_port: the master's SO_REUSEPORT sockets, one per TCP address for each worker slot. The kernel spreads new
/// connections over the slots and each worker accepts from its own slot's queue. The master keeps every slot open and
/// hands a slot to whichever worker replaces its holder (recycled, crashed, timed out or reloaded), so connections
/// queued there wait for the replacement instead of being reset as the old worker exits. A slot is closed only when
/// there are more than the worker count needs (TTOU, a HUP to fewer workers): its last worker drains it as it stops.
/// Slot sockets are close-on-exec: a worker gets its own slot's alone, by descriptor passing.
/// </summary>
internal sealed class PortSlots(IReadOnlyList<ListenAddress> tcpAddresses, ListenerOptions options, IErrorLog log) : IDisposable
{
    private readonly List<PortSlot> _slots = [];
    private IReadOnlyList<ListenAddress> _addresses = tcpAddresses;

    public int Count => _slots.Count;

    /// <summary>The first slot's sockets, as the "Listening at" line shows them.</summary>
    public IReadOnlyList<Listener> First => _slots.Count > 0 ? _slots[0].Sockets : [];

    /// <summary>Every slot's descriptors, for a USR2 master to take over.</summary>
    public IEnumerable<IReadOnlyList<int>> AllFds => _slots.Select(s => s.Fds);

    /// <summary>
    /// Takes over the slots a USR2 master was handed (<see cref="HandOver.PortSlots"/>) where they are bound to this
    /// configuration's ports, so that the old master's stop resets none of the connections queued on them; else
    /// closes them. Then binds the first slot if none was taken: an address that cannot be bound stops the start,
    /// with Gunicorn's lines.
    /// </summary>
    /// <exception cref="ListenerException">the first slot could not be bound.</exception>
    public void Open(IReadOnlyList<IReadOnlyList<int>> inherited)
    {
        ArgumentNullException.ThrowIfNull(inherited);
        foreach (var fds in inherited)
        {
            List<Listener> sockets;
            try
            {
                sockets = [.. fds.Select(fd => ListenerBinder.Adopt(fd, options, ownsUnixPath: false))];
            }
            catch (ListenerException)
            {
                continue; // not the sockets handed over: bind anew
            }

            if (sockets.Count == _addresses.Count && sockets.Zip(_addresses).All(p => BoundTo(p.First, p.Second)))
            {
                Add(sockets);
            }
            else
            {
                sockets.ForEach(s => s.Close(unlink: false));
            }
        }

        var first = _slots.Count > 0 ? _slots[0] : Bind();
        // Port 0: every later slot joins the port the kernel chose for the first.
        _addresses = [.. _addresses.Zip(first.Sockets, (a, s) => a.Port == 0 && s.Socket.LocalEndPoint is IPEndPoint ip ? a with { Port = ip.Port } : a)];
    }

    /// <summary>
    /// The slot for a new worker: one that no worker <paramref name="accepts"/> from (its holder crashed, retires or is
    /// being replaced), else a new one bound now.
    /// </summary>
    /// <exception cref="ListenerException">a new slot could not be bound.</exception>
    public PortSlot Claim(Func<int, bool> accepts)
    {
        if (_slots.FirstOrDefault(s => !s.Holders.Any(accepts)) is { } free)
        {
            return free;
        }

        return Bind();
    }

    private static bool BoundTo(Listener socket, ListenAddress address) =>
        socket.Socket.LocalEndPoint is IPEndPoint ip && (address.Port == 0 || ip.Port == address.Port);

    private PortSlot Bind() => Add(ListenerBinder.Bind(_addresses, options, log));

    private PortSlot Add(List<Listener> sockets)
    {
        foreach (var socket in sockets)
        {
            Libc.SetInheritable(socket.Fd, false);
        }

        var slot = new PortSlot(sockets);
        _slots.Add(slot);
        return slot;
    }

    /// <summary>A worker was reaped: its slot waits for the next worker claimed into it.</summary>
    public void Release(int pid)
    {
        foreach (var slot in _slots)
        {
            _ = slot.Holders.Remove(pid);
        }
    }

    /// <summary>
    /// Closes the master's copy of slots beyond <paramref name="workers"/> that no worker accepts from: the workers
    /// still holding one drain and close theirs as they stop, and the kernel then stops queueing on it.
    /// </summary>
    public void Trim(int workers, Func<int, bool> accepts)
    {
        for (var i = _slots.Count - 1; i >= 0 && _slots.Count > workers; i--)
        {
            if (!_slots[i].Holders.Any(accepts))
            {
                _slots[i].Close();
                _slots.RemoveAt(i);
            }
        }
    }

    public void Dispose()
    {
        foreach (var slot in _slots)
        {
            slot.Close();
        }

        _slots.Clear();
    }
}

/// <summary>One worker slot's sockets (one per TCP address) and the workers that were given them.</summary>
internal sealed class PortSlot(List<Listener> sockets)
{
    public IReadOnlyList<Listener> Sockets => sockets;

    public IReadOnlyList<int> Fds { get; } = [.. sockets.Select(s => s.Fd)];

    /// <summary>The live workers given this slot: the one accepting from it, and any it replaced that still run.</summary>
    public HashSet<int> Holders { get; } = [];

    public void Close()
    {
        foreach (var socket in sockets)
        {
            socket.Close(unlink: false);
        }
    }
}
