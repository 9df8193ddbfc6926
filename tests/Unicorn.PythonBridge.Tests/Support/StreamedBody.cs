using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge.Tests.Support;

/// <summary>A body that arrives in pieces (like a chunked upload): never buffered, reads return at most one piece.</summary>
public sealed class StreamedBody(params byte[][] pieces) : RequestBody
{
    private int _piece;
    private int _offset;

    public int Reads { get; private set; }

    public bool FailAtEnd { get; init; }

    /// <summary>What a read after the last piece throws (the client's failure), instead of ending the body.</summary>
    public Func<Exception>? FailWith { get; init; }

    /// <summary>Whether the GIL was held during each Read (with <see cref="Gil.IsHeld"/>).</summary>
    public List<bool> GilHeldDuringRead { get; } = [];

    public override long? Length => null;

    public override bool TryGetBuffered(out ReadOnlyMemory<byte> body)
    {
        body = default;
        return false;
    }

    public override int Read(Span<byte> destination)
    {
        Reads++;
        GilHeldDuringRead.Add(Gil.IsHeld());
        while (_piece < pieces.Length && _offset == pieces[_piece].Length)
        {
            _piece++;
            _offset = 0;
        }

        if (_piece == pieces.Length)
        {
            return FailWith is { } fail ? throw fail() : FailAtEnd ? throw new IOException("client went away mid-body") : 0;
        }

        var n = Math.Min(destination.Length, pieces[_piece].Length - _offset);
        pieces[_piece].AsSpan(_offset, n).CopyTo(destination);
        _offset += n;
        return n;
    }
}
