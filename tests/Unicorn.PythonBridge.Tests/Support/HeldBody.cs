using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge.Tests.Support;

/// <summary>
/// A body read before the app ran but not laid out as its bytes (as a chunked body left in its framing): the bridge
/// must make wsgi.input from one CopyHeldTo, never by reading it as a stream.
/// </summary>
public sealed class HeldBody(byte[] bytes) : RequestBody
{
    public int Copies { get; private set; }

    public override long? Length => bytes.Length;

    public override bool TryGetBuffered(out ReadOnlyMemory<byte> body)
    {
        body = default;
        return false;
    }

    public override bool TryGetHeldLength(out int length)
    {
        length = bytes.Length;
        return true;
    }

    public override void CopyHeldTo(Span<byte> destination)
    {
        Copies++;
        bytes.CopyTo(destination);
    }

    public override int Read(Span<byte> destination) => throw new InvalidOperationException("a held body is copied whole, not read");
}
