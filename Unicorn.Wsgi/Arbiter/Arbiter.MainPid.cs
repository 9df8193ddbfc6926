using System.Globalization;
using Unicorn.Wsgi.Interop;
using Unicorn.Wsgi.ProcessContract;
using Unicorn.Wsgi.Transport.Listeners;

namespace Unicorn.Wsgi.Arbiter;

/// <summary>
/// systemd's main pid across a USR2 upgrade. With <c>Type=notify</c> and <c>NotifyAccess=main</c> systemd takes
/// notifications from its main pid alone, so the new master's <c>READY=1</c> is dropped, and once the operator stops
/// the old master systemd takes the service for dead and stops what is left of it. The old master, still the main
/// pid, therefore names the new one (<c>MAINPID=</c>) once it serves, which it learns through a pipe
/// (<see cref="HandOver.UpgradeReadyFd"/>); a new master that exits before serving never writes to it, and nothing
/// is sent. A new master stopped before it was promoted (a rollback) names the old one back.
/// </summary>
public sealed partial class Arbiter
{
    private int _upgradeReadyRead = -1;  // old master: the read end, while its USR2 master boots
    private int _upgradeReadyWrite = -1; // new master: the write end, until it serves
    private bool _mainPidHandedOver;     // new master: it told the old one it serves, which made it the main pid

    /// <summary>Old master, before the spawn: the pipe, when systemd listens (NOTIFY_SOCKET set). Its write end's fd.</summary>
    private int OpenUpgradeReadyPipe()
    {
        CloseUpgradeReadyRead();
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NOTIFY_SOCKET")))
        {
            return -1;
        }

        try
        {
            var (read, write) = Libc.Pipe();
            _upgradeReadyRead = read;
            return write;
        }
        catch (IOException e)
        {
            _log.Debug("No systemd main pid hand-over for this upgrade: " + e.Message);
            return -1;
        }
    }

    /// <summary>New master, at start: takes the write end its parent passed, out of reach of what it starts.</summary>
    private void TakeUpgradeReadyFd()
    {
        var value = Environment.GetEnvironmentVariable(HandOver.UpgradeReadyFd);
        if (value is null)
        {
            return;
        }

        Unset(HandOver.UpgradeReadyFd);
        if (_masterPid != 0 && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var fd) && Libc.IsOpen(fd))
        {
            Libc.SetInheritable(fd, false);
            _upgradeReadyWrite = fd;
        }
    }

    /// <summary>New master, each loop: once a worker serves, tells the old master (and wakes it).</summary>
    private unsafe void AnnounceUpgradeReady()
    {
        if (_upgradeReadyWrite < 0 || !_workers.Values.Any(w => w.Snapshot().State == WorkerState.Ready))
        {
            return;
        }

        byte one = 1;
        _mainPidHandedOver = Libc.write(_upgradeReadyWrite, &one, 1) == 1;
        CloseUpgradeReadyWrite();
        if (_mainPidHandedOver)
        {
            _ = Libc.kill(_masterPid, Libc.SIGCHLD);
        }
    }

    /// <summary>
    /// Old master, each loop before its USR2 child is reaped: a byte means the new master serves, so it becomes
    /// systemd's main pid; the end of the pipe without one means it exited first, and nothing is sent.
    /// </summary>
    private unsafe void ReceiveUpgradeReady()
    {
        if (_upgradeReadyRead < 0)
        {
            return;
        }

        byte b;
        var n = Libc.read(_upgradeReadyRead, &b, 1);
        if (n < 0 && Libc.Errno is Libc.EAGAIN or Libc.EINTR)
        {
            return;
        }

        CloseUpgradeReadyRead();
        if (n == 1 && _reexecPid != 0)
        {
            var pid = _reexecPid.ToString(CultureInfo.InvariantCulture);
            Systemd.Notify($"MAINPID={pid}\nSTATUS=Unicorn arbiter upgraded: master is pid {pid}", _log);
            _log.Info($"Told systemd the new master (pid: {pid}) is the main process");
        }
    }

    private void CloseUpgradeReadyWrite()
    {
        if (_upgradeReadyWrite >= 0)
        {
            _ = Libc.close(_upgradeReadyWrite);
            _upgradeReadyWrite = -1;
        }
    }

    private void CloseUpgradeReadyRead()
    {
        if (_upgradeReadyRead >= 0)
        {
            _ = Libc.close(_upgradeReadyRead);
            _upgradeReadyRead = -1;
        }
    }

    /// <summary>New master, stopping before it was promoted (a rollback): the old master is the main pid again.</summary>
    private void HandMainPidBack()
    {
        if (_mainPidHandedOver && _masterPid != 0 && _masterPid == Libc.getppid())
        {
            _mainPidHandedOver = false;
            var pid = _masterPid.ToString(CultureInfo.InvariantCulture);
            Systemd.Notify($"MAINPID={pid}\nSTATUS=Unicorn arbiter booted", _log);
        }
    }
}
