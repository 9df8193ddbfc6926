using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Connections;

/// <summary>
/// The PROXY protocol header (v1 text, v2 binary) a load balancer sends before anything else on a
/// connection, parsed from bytes alone: the connection pipeline reads it before TLS and before any protocol
/// handler, so every protocol gets the real client. Rules and rejections are Gunicorn's (400
/// InvalidProxyLine / InvalidProxyHeader, 403 ForbiddenProxyRequest), with the strictness in
/// docs/security.md. Stateless: one per worker.
/// </summary>
public sealed class ProxyHeaderParser(ProxyProtocolMode mode, IpAllowList allowed)
{
    private static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    private static ReadOnlySpan<byte> V1Prefix => "PROXY "u8;

    /// <summary>A v1 line is at most 107 bytes with its CRLF (the PROXY protocol specification).</summary>
    private const int MaxV1Line = 107;

    /// <summary>
    /// Reads a PROXY protocol header (v1 or v2, as <c>proxy_protocol</c> allows) from the start of a connection
    /// from <paramref name="peer"/> (null: a unix-socket peer, always allowed). <c>true</c>: done, with
    /// <paramref name="info"/> set when a header was there (reader advanced past it) or null when the
    /// connection starts with something else (reader untouched); <c>false</c>: more bytes needed.
    /// Throws InvalidProxyLine / InvalidProxyHeader for a malformed header and ForbiddenProxyRequest when
    /// the peer is not in <c>proxy_allow_ips</c>.
    /// </summary>
    public bool TryParse(ref SequenceReader<byte> reader, IPAddress? peer, out ProxyInfo? info)
    {
        info = null;
        if (mode == ProxyProtocolMode.Off)
        {
            return true;
        }
        var buffer = reader.UnreadSequence;
        Span<byte> start = stackalloc byte[16];
        var have = (int)Math.Min(buffer.Length, 16);
        buffer.Slice(0, have).CopyTo(start);
        start = start[..have];

        var maybeV2 = mode != ProxyProtocolMode.V1 && V2Signature.StartsWith(start[..Math.Min(have, 12)]);
        var maybeV1 = mode != ProxyProtocolMode.V2 && V1Prefix.StartsWith(start[..Math.Min(have, 6)]);
        if (!maybeV1 && !maybeV2)
        {
            return true;
        }
        if ((maybeV2 && have < 12) || (maybeV1 && have < 6))
        {
            return false;
        }
        if (!allowed.Contains(peer))
        {
            HttpRejection.Throw(RequestRejectionReason.ForbiddenProxyRequest, peer?.ToString() ?? "");
        }
        return maybeV2 ? TryParseV2(ref reader, buffer, out info) : TryParseV1(ref reader, buffer, out info);
    }

    private static bool TryParseV1(ref SequenceReader<byte> reader, ReadOnlySequence<byte> buffer, out ProxyInfo? info)
    {
        info = null;
        var window = buffer.Length > MaxV1Line ? buffer.Slice(0, MaxV1Line) : buffer;
        var lineReader = new SequenceReader<byte>(window);
        if (!lineReader.TryReadTo(out ReadOnlySequence<byte> lineSeq, "\r\n"u8))
        {
            if (buffer.Length >= MaxV1Line)
            {
                HttpRejection.Throw(RequestRejectionReason.InvalidProxyLine, window.ToArray());
            }
            return false;
        }
        Span<byte> line = stackalloc byte[(int)lineSeq.Length];
        lineSeq.CopyTo(line);
        if (line.StartsWith("PROXY UNKNOWN"u8) && (line.Length == 13 || line[13] == (byte)' '))
        {
            // The spec's line for a connection the proxy cannot describe (a unix-socket client, a health check):
            // the rest of the line is to be ignored and the connection's own addresses used, as for v2 LOCAL.
            info = new ProxyInfo("UNKNOWN", null, null, null, null);
            reader.Advance(lineSeq.Length + 2);
            return true;
        }

        Span<Range> bits = stackalloc Range[6];
        if (SplitSpaces(line, bits) != 6)
        {
            HttpRejection.Throw(RequestRejectionReason.InvalidProxyLine, line);
        }
        var proto = line[bits[1]];
        var isV4 = proto.SequenceEqual("TCP4"u8);
        if (!isV4 && !proto.SequenceEqual("TCP6"u8))
        {
            HttpRejection.Throw(RequestRejectionReason.InvalidProxyLine, line);
        }
        var source = ParseAddress(line[bits[2]], isV4);
        var destination = ParseAddress(line[bits[3]], isV4);
        var sourcePort = ParsePort(line[bits[4]]);
        var destinationPort = ParsePort(line[bits[5]]);
        if (source is null || destination is null || sourcePort < 0 || destinationPort < 0)
        {
            HttpRejection.Throw(RequestRejectionReason.InvalidProxyLine, line);
        }
        info = new ProxyInfo(isV4 ? "TCP4" : "TCP6", source, sourcePort, destination, destinationPort);
        reader.Advance(lineSeq.Length + 2);
        return true;
    }

    private static bool TryParseV2(ref SequenceReader<byte> reader, ReadOnlySequence<byte> buffer, out ProxyInfo? info)
    {
        info = null;
        if (buffer.Length < 16)
        {
            return false;
        }
        Span<byte> header = stackalloc byte[16];
        buffer.Slice(0, 16).CopyTo(header);
        var version = header[12] >> 4;
        var command = header[12] & 0x0F;
        if (version != 2)
        {
            HttpRejection.Throw(RequestRejectionReason.InvalidProxyHeader, $"unsupported version {version}");
        }
        if (command > 1)
        {
            HttpRejection.Throw(RequestRejectionReason.InvalidProxyHeader, $"unsupported command {command}");
        }
        var length = BinaryPrimitives.ReadUInt16BigEndian(header[14..]);
        if (buffer.Length < 16 + length)
        {
            return false;
        }
        var family = header[13] >> 4;
        var protocol = header[13] & 0x0F;
        if (command == 0)
        {
            info = new ProxyInfo("LOCAL", null, null, null, null);
        }
        else if (protocol != 1)
        {
            HttpRejection.Throw(RequestRejectionReason.InvalidProxyHeader, "only TCP protocol is supported");
        }
        else if (family == 0)
        {
            info = new ProxyInfo("UNSPEC", null, null, null, null);
        }
        else if (family is 1 or 2)
        {
            var addressLength = family == 1 ? 4 : 16;
            if (length < 2 * addressLength + 4)
            {
                HttpRejection.Throw(RequestRejectionReason.InvalidProxyHeader,
                    $"insufficient address data for {(family == 1 ? "IPv4" : "IPv6")}");
            }
            Span<byte> data = stackalloc byte[2 * addressLength + 4];
            buffer.Slice(16, data.Length).CopyTo(data);
            var source = new IPAddress(data[..addressLength]).ToString();
            var destination = new IPAddress(data.Slice(addressLength, addressLength)).ToString();
            var sourcePort = BinaryPrimitives.ReadUInt16BigEndian(data[(2 * addressLength)..]);
            var destinationPort = BinaryPrimitives.ReadUInt16BigEndian(data[(2 * addressLength + 2)..]);
            info = new ProxyInfo(family == 1 ? "TCP4" : "TCP6", source, sourcePort, destination, destinationPort);
        }
        else
        {
            HttpRejection.Throw(RequestRejectionReason.InvalidProxyHeader, $"unsupported address family {family}");
        }
        reader.Advance(16 + length);
        return true;
    }

    // Like inet_pton: dotted quad without leading zeros for TCP4, a plain IPv6 address for TCP6.
    private static string? ParseAddress(ReadOnlySpan<byte> s, bool v4)
    {
        if (s.IsEmpty || s.Length > 45)
        {
            return null;
        }
        if (v4)
        {
            var octets = 0;
            var i = 0;
            while (i < s.Length)
            {
                var start = i;
                var value = 0;
                while (i < s.Length && char.IsAsciiDigit((char)s[i]) && i - start < 3)
                {
                    value = value * 10 + (s[i] - '0');
                    i++;
                }
                var digits = i - start;
                if (digits == 0 || value > 255 || (digits > 1 && s[start] == '0'))
                {
                    return null;
                }
                octets++;
                if (i < s.Length)
                {
                    if (s[i] != '.' || octets == 4)
                    {
                        return null;
                    }
                    i++;
                    if (i == s.Length)
                    {
                        return null;
                    }
                }
            }
            return octets == 4 ? KnownStrings.Latin1(s) : null;
        }
        if (s.ContainsAnyExcept("0123456789abcdefABCDEF:."u8))
        {
            return null;
        }
        Span<char> chars = stackalloc char[s.Length];
        for (var i = 0; i < s.Length; i++)
        {
            chars[i] = (char)s[i];
        }
        return IPAddress.TryParse(chars, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6
            ? KnownStrings.Latin1(s)
            : null;
    }

    // Python's str.split(" "): every space separates, so two spaces make an empty part.
    private static int SplitSpaces(ReadOnlySpan<byte> line, Span<Range> parts)
    {
        var count = 0;
        var start = 0;
        for (var i = 0; i <= line.Length; i++)
        {
            if (i == line.Length || line[i] == ' ')
            {
                if (count == parts.Length)
                {
                    return count + 1;
                }
                parts[count++] = new Range(start, i);
                start = i + 1;
            }
        }
        return count;
    }

    private static int ParsePort(ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty || s.Length > 5 || s.ContainsAnyExceptInRange((byte)'0', (byte)'9'))
        {
            return -1;
        }
        var p = 0;
        foreach (var d in s)
        {
            p = p * 10 + (d - '0');
        }
        return p > 65535 ? -1 : p;
    }
}
