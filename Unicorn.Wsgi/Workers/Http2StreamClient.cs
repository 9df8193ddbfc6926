using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Workers;

/// <summary>An HTTP/2 stream's client, gone once Kestrel aborts the stream (the client reset it, or the connection was lost).</summary>
internal sealed class Http2StreamClient(CancellationToken aborted) : IClientConnection
{
    public async Task<bool> WaitUntilClosedAsync(CancellationToken token)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(aborted, token);
        try
        {
            await Task.Delay(Timeout.Infinite, either.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        return aborted.IsCancellationRequested;
    }
}
