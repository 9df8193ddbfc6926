using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Unicorn.Wsgi.Interop;

namespace Unicorn.Wsgi.ProcessContract;

/// <summary>
/// The channel a worker proves it is alive on: an unlinked file in <c>--worker-tmp-dir</c> shared by
/// master and worker (Gunicorn touches the mtime of such a file). It holds the worker's last beat on the
/// monotonic clock both processes share, its state (booting, ready, retiring, parked spare) and why it retires.
/// </summary>
public sealed class WorkerHeartbeat : IDisposable
{
    private const int Size = 10;
    private readonly SafeFileHandle _handle;
    private readonly byte[] _buffer = new byte[Size];

    private WorkerHeartbeat(SafeFileHandle handle) => _handle = handle;

    public int Fd => (int)_handle.DangerousGetHandle();

    /// <summary>
    /// Master side: a new file in dir, unlinked at once so nothing is left behind. A file system too full for its
    /// few bytes (a full /dev/shm) gets an anonymous memory file instead: Gunicorn's heartbeat changes only the
    /// file's metadata, so a full disk does not stop its workers from starting, and must not stop these.
    /// </summary>
    public static WorkerHeartbeat Create(string? dir)
    {
        dir = string.IsNullOrEmpty(dir) ? System.IO.Path.GetTempPath() : dir;
        var path = System.IO.Path.Combine(dir, "wunicorn-" + Guid.NewGuid().ToString("N"));
        var heartbeat = new WorkerHeartbeat(File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite));
        File.Delete(path);
        try
        {
            heartbeat.Beat(WorkerState.Booting);
            return heartbeat;
        }
        catch (IOException e) when (e.HResult == ENOSPC)
        {
            heartbeat.Dispose();
        }

        var fd = Libc.memfd_create("wunicorn", Libc.MFD_CLOEXEC);
        if (fd < 0)
        {
            throw new IOException($"No space left on device, and no memory file instead: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        heartbeat = new WorkerHeartbeat(new SafeFileHandle(fd, ownsHandle: true));
        heartbeat.Beat(WorkerState.Booting);
        return heartbeat;
    }

    private const int ENOSPC = 28;

    /// <summary>Worker side: the fd the master placed in this process.</summary>
    public static WorkerHeartbeat FromFd(int fd) => new(new SafeFileHandle(fd, ownsHandle: true));

    public static long Now => Stopwatch.GetTimestamp();

    /// <summary>Worker side: why it retires, written with every beat (set before the first Retiring beat).</summary>
    public RetireCause Cause { get; set; }

    /// <summary>Writes a beat, dated now or at <paramref name="at"/> (a <see cref="Now"/> timestamp in the past).</summary>
    public void Beat(WorkerState state, long? at = null)
    {
        lock (_buffer)
        {
            BinaryPrimitives.WriteInt64LittleEndian(_buffer, at ?? Now);
            _buffer[8] = (byte)state;
            _buffer[9] = (byte)Cause;
            RandomAccess.Write(_handle, _buffer, 0);
        }
    }

    /// <summary>Master side: the last beat (Stopwatch timestamp) and state.</summary>
    public (long LastBeat, WorkerState State) Read()
    {
        Span<byte> buffer = stackalloc byte[Size];
        var n = RandomAccess.Read(_handle, buffer, 0);
        return n < Size ? (0, WorkerState.Booting) : (BinaryPrimitives.ReadInt64LittleEndian(buffer), (WorkerState)buffer[8]);
    }

    /// <summary>Master side: why a retiring worker asked to be replaced.</summary>
    public RetireCause ReadCause()
    {
        Span<byte> buffer = stackalloc byte[Size];
        return RandomAccess.Read(_handle, buffer, 0) < Size ? RetireCause.MaxRequests : (RetireCause)buffer[9];
    }

    public TimeSpan SinceLastBeat => Stopwatch.GetElapsedTime(Read().LastBeat);

    public void Dispose() => _handle.Dispose();
}
