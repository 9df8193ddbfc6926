using System.Buffers;
using System.IO.Pipelines;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Connections;

/// <summary>
/// The pipeline's first stage when <c>proxy_protocol</c> is on: reads the PROXY header, if the connection starts
/// with one, before TLS and before any protocol. Waiting for the first byte is bounded by <c>timeout</c> and the
/// connection counts as idle (evictable) meanwhile; once bytes arrive, the header and the first request head
/// share one <c>timeout</c> (the frame <see cref="ConnectionContext.ReadFrameAsync"/> reads goes on into the head).
/// </summary>
internal sealed class ProxyProtocolStage(ProxyHeaderParser parser, TimeSpan readTimeout)
{
    /// <summary>False: the connection ended or timed out before anything was said. Bad headers throw.</summary>
    public async ValueTask<bool> RunAsync(ConnectionContext connection)
    {
        while (true)
        {
            if (await connection.ReadFrameAsync(readTimeout, readTimeout) is not { } read)
            {
                return false;
            }

            var buffer = read.Buffer;
            if (buffer.IsEmpty && read.IsCompleted)
            {
                return false;
            }

            var reader = new SequenceReader<byte>(buffer);
            if (parser.TryParse(ref reader, connection.RemoteEndPoint?.Address, out var info))
            {
                connection.Proxy = info;
                connection.Input.AdvanceTo(reader.Position);
                return true;
            }

            if (read.IsCompleted)
            {
                throw HttpRejection.Create(RequestRejectionReason.UnexpectedEndOfInput, "");
            }

            connection.Input.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
