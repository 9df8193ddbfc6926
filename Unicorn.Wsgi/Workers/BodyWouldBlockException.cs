namespace Unicorn.Wsgi.Workers;

/// <summary>
/// Thrown inside <see cref="StreamedRequestBody.TryReadNow"/> where a read would have to wait, and caught there:
/// it unwinds a protocol's read loop from any depth with its state consistent. An IOException, so a protocol that
/// wraps other failures as a client gone (HTTP/2) lets it through.
/// </summary>
internal sealed class BodyWouldBlockException : IOException
{
    public static readonly BodyWouldBlockException Instance = new();

    private BodyWouldBlockException()
        : base("the request body has no bytes ready")
    {
    }
}
