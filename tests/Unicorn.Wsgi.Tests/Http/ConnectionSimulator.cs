using System.Buffers;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Connections;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Tests.Http;

/// <summary>What one request on a simulated connection turned out to be.</summary>
internal sealed record ParsedRequest(
    string Method, string RawTarget, string Path, string Query, string Fragment,
    string? Scheme, string? Host, int? Port, int Major, int Minor,
    List<KeyValuePair<string, string>> Headers, byte[] Body, List<KeyValuePair<string, string>> Trailers,
    bool KeepAlive, bool ExpectContinue, string? ForwardedScheme, ProxyInfo? Proxy);

/// <summary>
/// Drives the parser the way a connection loop does: bytes arrive in pieces, the PROXY header (when
/// enabled) and then request heads and bodies are read as far as the buffered bytes allow, keep-alive
/// decides whether another request follows, and end of input is reported at the end. Bodies are read
/// into destinations whose sizes come from <c>readSize</c> (whole body, 1 byte, small or large reads).
/// </summary>
internal sealed class ConnectionSimulator
{
    private readonly Http1RequestParser _parser;
    private readonly ProxyHeaderParser _proxyParser;
    private readonly System.Net.IPAddress? _peer;
    private readonly HttpParserOptions _options;
    private readonly Func<int> _readSize;
    private readonly SegmentedInput _input = new();
    private readonly RequestHead _head = new();
    private Phase _phase;
    private ChunkedBodyDecoder? _chunked;
    private long _remaining;
    private MemoryStream _body = new();
    private ProxyInfo? _proxy;
    private byte[] _scratch = new byte[4096];

    private enum Phase { Proxy, Head, Body, Done }

    /// <param name="peer">the peer's address; with <paramref name="ipPeer"/> false, a unix-socket peer (as the corpus harness).</param>
    public ConnectionSimulator(HttpParserOptions options, Func<int> readSize, System.Net.IPAddress? peer = null, bool ipPeer = false)
    {
        _options = options;
        _parser = new Http1RequestParser(options);
        _parser.StartConnection(ipPeer ? peer : null);
        _proxyParser = new ProxyHeaderParser(options.ProxyProtocol, options.ProxyAllowIps);
        _peer = ipPeer ? peer : null;
        _readSize = readSize;
        _phase = options.ProxyProtocol == ProxyProtocolMode.Off ? Phase.Head : Phase.Proxy;
    }

    public List<ParsedRequest> Requests { get; } = [];

    public static List<ParsedRequest> Run(HttpParserOptions options, IEnumerable<ReadOnlyMemory<byte>> pieces, Func<int> readSize)
    {
        var sim = new ConnectionSimulator(options, readSize);
        foreach (var p in pieces)
        {
            sim.Receive(p.Span);
        }
        sim.EndOfInput();
        return sim.Requests;
    }

    public void Receive(ReadOnlySpan<byte> data)
    {
        if (_phase == Phase.Done)
        {
            return;
        }
        _input.Append(data);
        while (_phase != Phase.Done && Step())
        {
        }
    }

    public void EndOfInput()
    {
        while (_phase != Phase.Done && Step())
        {
        }
        switch (_phase)
        {
            case Phase.Proxy or Phase.Head when _input.Length > 0:
                throw Http1RequestParser.UnexpectedEnd(_input.ToSequence());
            case Phase.Body when _chunked is not null:
                _chunked.OnEndOfInput();
                break;
            case Phase.Body:
                // Gunicorn's LengthReader hands the app whatever arrived before EOF (the corpus's valid/099
                // declares 17914 bytes and carries 8599); the simulator does the same.
                FinishRequest();
                break;
        }
    }

    // One parsing step over what is buffered; false when nothing more can happen without more bytes.
    private bool Step()
    {
        var reader = new SequenceReader<byte>(_input.ToSequence());
        var before = _phase;
        var progressed = false;
        switch (_phase)
        {
            case Phase.Proxy:
                if (_proxyParser.TryParse(ref reader, _peer, out _proxy))
                {
                    _phase = Phase.Head;
                }
                break;
            case Phase.Head:
                if (_parser.TryParseHead(ref reader, _head))
                {
                    StartBody();
                }
                break;
            case Phase.Body:
                var size = Math.Max(1, _readSize());
                if (_scratch.Length < size)
                {
                    _scratch = new byte[size];
                }
                var destination = _scratch.AsSpan(0, size);
                int n;
                if (_chunked is not null)
                {
                    n = _chunked.Decode(ref reader, destination);
                    _body.Write(destination[..n]);
                    if (_chunked.IsComplete)
                    {
                        FinishRequest();
                    }
                }
                else
                {
                    n = (int)Math.Min(Math.Min(_remaining, reader.Remaining), destination.Length);
                    reader.UnreadSequence.Slice(0, n).CopyTo(destination);
                    reader.Advance(n);
                    _body.Write(destination[..n]);
                    _remaining -= n;
                    if (_remaining == 0)
                    {
                        FinishRequest();
                    }
                }
                progressed = n > 0;
                break;
        }
        _input.Consume(reader.Consumed);
        return progressed || reader.Consumed > 0 || _phase != before;
    }

    private void StartBody()
    {
        _body = new MemoryStream();
        _chunked = _head.IsChunked ? new ChunkedBodyDecoder(_options) : null;
        _remaining = _head.ContentLength ?? 0;
        _phase = Phase.Body;
        if (_chunked is null && _remaining == 0)
        {
            FinishRequest();
        }
    }

    private void FinishRequest()
    {
        var h = _head;
        Requests.Add(new ParsedRequest(
            h.Method, h.RawTarget, h.Path, h.Query, h.Fragment, h.Scheme, h.Host, h.Port, h.VersionMajor, h.VersionMinor,
            [.. h.Headers], _body.ToArray(), [.. _chunked?.Trailers ?? []], h.KeepAlive, h.ExpectContinue, h.ForwardedScheme,
            Requests.Count == 0 ? _proxy : null));
        _phase = h.KeepAlive ? Phase.Head : Phase.Done;
    }
}
