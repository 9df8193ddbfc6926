using System.IO.Pipelines;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// Kestrel's output, with SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441) turned off in the server's first SETTINGS
/// frame. Kestrel always advertises it (value 1) and has no option to stop, but Unicorn's apps cannot serve an
/// extended CONNECT: a stream is one WSGI/ASGI request, and a websocket needs HTTP/1.1's Upgrade. A browser that
/// saw the setting opens its websockets as extended CONNECTs on the HTTP/2 connection and takes the refusal as a
/// failed websocket; with 0 (a valid value: "not supported", as Gunicorn's h2 sends) it keeps them on HTTP/1.1.
/// The value is rewritten in place, so the frame keeps its length. Only the connection's first frame is read (RFC
/// 9113 §3.4: the server's preface is a SETTINGS frame); from its end on, every call goes straight through.
/// </summary>
internal sealed class Http2SettingsFilter(PipeWriter inner) : PipeWriter
{
    private const int FrameHeaderLength = 9;
    private const byte Settings = 0x4;
    private const byte FlagAck = 0x1;
    private const int EnableConnectProtocol = 0x8;
    private const int EntryLength = 6;

    private readonly byte[] _header = new byte[FrameHeaderLength];
    private Memory<byte> _handedOut;
    // Bytes of the first frame seen so far, its payload's length once its header is read, and the current entry's id.
    private int _position;
    private int _payloadLength;
    private int _settingId;
    private bool _done;

    /// <summary>Whether the first frame has been read through (or was not the server's SETTINGS).</summary>
    internal bool Done => _done;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (_done)
        {
            return inner.GetMemory(sizeHint);
        }

        return _handedOut = inner.GetMemory(sizeHint);
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => _done ? inner.GetSpan(sizeHint) : GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        if (!_done)
        {
            Inspect(_handedOut.Span[..bytes]);
            _handedOut = default;
        }

        inner.Advance(bytes);
    }

    // Through GetSpan and Advance (PipeWriter's own WriteAsync) while the first frame is being read.
    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        _done ? inner.WriteAsync(source, cancellationToken) : base.WriteAsync(source, cancellationToken);

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes;

    /// <summary>Reads the first frame's bytes as they are written, and zeroes the value of ENABLE_CONNECT_PROTOCOL.</summary>
    internal void Inspect(Span<byte> written)
    {
        for (var i = 0; i < written.Length && !_done; i++, _position++)
        {
            if (_position < FrameHeaderLength)
            {
                _header[_position] = written[i];
                if (_position == FrameHeaderLength - 1)
                {
                    _payloadLength = (_header[0] << 16) | (_header[1] << 8) | _header[2];
                    var stream = ((_header[5] & 0x7F) << 24) | (_header[6] << 16) | (_header[7] << 8) | _header[8];
                    _done = _header[3] != Settings || (_header[4] & FlagAck) != 0 || stream != 0
                        || _payloadLength == 0 || _payloadLength % EntryLength != 0;
                }

                continue;
            }

            var offset = _position - FrameHeaderLength;
            var inEntry = offset % EntryLength;
            if (inEntry < 2)
            {
                _settingId = inEntry == 0 ? written[i] << 8 : _settingId | written[i];
            }
            else if (_settingId == EnableConnectProtocol)
            {
                written[i] = 0;
            }

            _done = offset + 1 == _payloadLength;
        }
    }
}
