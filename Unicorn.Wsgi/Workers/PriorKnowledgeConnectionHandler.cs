using System.Buffers;
using Unicorn.Wsgi.Connections;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// h2c with prior knowledge (<c>http2_cleartext = prior-knowledge</c>) on connections that agreed on no ALPN
/// protocol: a peer in <c>forwarded_allow_ips</c> (a load balancer or sidecar) that opens with HTTP/2's
/// connection preface gets HTTP/2; everything else, and every other peer, gets HTTP/1.1. The bytes read to
/// decide stay in the connection's pipe for the handler chosen.
/// </summary>
internal sealed class PriorKnowledgeConnectionHandler(IConnectionHandler http1, IConnectionHandler http2, WorkerOptions options) : IConnectionHandler
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    public async Task RunAsync(ConnectionContext connection)
    {
        if (!connection.ForwardedTrusted)
        {
            await http1.RunAsync(connection);
            return;
        }

        var head = new byte[Preface.Length];
        while (true)
        {
            // The first bytes are the first request's: its idle wait and head time, as HTTP/1 would give them.
            if (await connection.ReadFrameAsync(options.ReadTimeout, options.ReadTimeout) is not { } read)
            {
                return;
            }

            var buffer = read.Buffer;
            var n = (int)Math.Min(buffer.Length, Preface.Length);
            buffer.Slice(0, n).CopyTo(head);
            var matches = head.AsSpan(0, n).SequenceEqual(Preface.AsSpan(0, n));
            var waitForMore = matches && n < Preface.Length && !read.IsCompleted;
            connection.Input.AdvanceTo(buffer.Start, waitForMore ? buffer.End : buffer.Start);
            if (waitForMore)
            {
                continue;
            }

            if (matches && n == Preface.Length)
            {
                connection.EndFrame(); // Kestrel bounds HTTP/2 reads itself
                await http2.RunAsync(connection);
            }
            else
            {
                await http1.RunAsync(connection);
            }

            return;
        }
    }
}
