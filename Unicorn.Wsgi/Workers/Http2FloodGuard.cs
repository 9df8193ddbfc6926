using System.Buffers;
using System.IO.Pipelines;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// Kestrel's input, watched for floods of frames that cost the server work and carry no request (CVE-2019-9512
/// PING, -9515 SETTINGS, -9518 empty DATA): Kestrel answers each PING and SETTINGS while the client reads the
/// answers, and takes empty DATA frames for free, so a client may keep a worker busy with them for as long as
/// it likes. This reads only the 9-byte frame headers Kestrel is about to parse (HTTP/2 itself stays Kestrel's);
/// past <see cref="Limit"/> such frames within a second the connection reads as ended, Kestrel drops it, and
/// <paramref name="onFlood"/> says which flood it was, once.
/// </summary>
internal sealed class Http2FloodGuard(PipeReader inner, Action<string> onFlood) : PipeReader
{
    /// <summary>Frames without a request a connection may send in one second; browsers and gRPC send a handful.</summary>
    public const int Limit = 1000;

    private const int FrameHeaderLength = 9;
    private const int PrefaceLength = 24;
    private const byte Data = 0x0, Settings = 0x4, Ping = 0x6;
    private const byte FlagAckOrEndStream = 0x1;

    private readonly byte[] _carry = new byte[FrameHeaderLength];
    private ReadOnlySequence<byte> _buffer;
    // Absolute offsets in the connection's input: where the last buffer handed out starts, and the next frame header.
    private long _start;
    private long _nextFrame = PrefaceLength;
    private long _windowStart = Environment.TickCount64;
    private int _inWindow;
    private bool _flooded;

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
        Inspect(await inner.ReadAsync(cancellationToken));

    public override bool TryRead(out ReadResult result)
    {
        if (!inner.TryRead(out result))
        {
            return false;
        }

        result = Inspect(result);
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_flooded)
        {
            return; // Kestrel was handed an ended, empty input of our own: nothing of the inner buffer to release
        }

        var end = _start + _buffer.Slice(_buffer.Start, consumed).Length;
        if (_nextFrame < end)
        {
            // Kestrel does not consume whole frames only: the first bytes of a header not yet complete go with
            // this advance, so they are kept to be read with the rest of it.
            var from = Math.Max(_nextFrame, _start);
            var count = (int)Math.Min(end - from, FrameHeaderLength - (from - _nextFrame));
            if (count > 0)
            {
                _buffer.Slice(from - _start, count).CopyTo(_carry.AsSpan((int)(from - _nextFrame)));
            }
        }

        _start = end;
        inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

    private ReadResult Inspect(ReadResult result)
    {
        if (_flooded)
        {
            return new ReadResult(ReadOnlySequence<byte>.Empty, false, true);
        }

        _buffer = result.Buffer;
        Span<byte> header = stackalloc byte[FrameHeaderLength];
        while (_nextFrame - _start is var at && at + FrameHeaderLength <= _buffer.Length)
        {
            if (at >= 0)
            {
                _buffer.Slice(at, FrameHeaderLength).CopyTo(header);
            }
            else
            {
                var carried = (int)-at;
                _carry.AsSpan(0, carried).CopyTo(header);
                _buffer.Slice(0, FrameHeaderLength - carried).CopyTo(header[carried..]);
            }

            var length = (header[0] << 16) | (header[1] << 8) | header[2];
            var kind = Flood(header[3], header[4], length);
            if (kind is not null && Count())
            {
                _flooded = true;
                inner.AdvanceTo(_buffer.End);
                onFlood(kind);
                return new ReadResult(ReadOnlySequence<byte>.Empty, false, true);
            }

            _nextFrame += FrameHeaderLength + length;
        }

        return result;
    }

    // Frames that ask for work (an ACK) or carry nothing, without a request: what a flood is made of.
    private static string? Flood(byte type, byte flags, int length) => type switch
    {
        Ping when (flags & FlagAckOrEndStream) == 0 => "PING",
        Settings when (flags & FlagAckOrEndStream) == 0 => "SETTINGS",
        Data when length == 0 && (flags & FlagAckOrEndStream) == 0 => "empty DATA",
        _ => null,
    };

    private bool Count()
    {
        var now = Environment.TickCount64;
        if (now - _windowStart >= 1000)
        {
            _windowStart = now;
            _inWindow = 0;
        }

        return ++_inWindow > Limit;
    }
}
