using System.Text;
using Unicorn.Wsgi.Config;
using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Tests.Http;

/// <summary>
/// The fuzz target's check, shared with the tests that replay its findings: the first byte picks parser
/// settings, the rest goes through a simulated connection all at once, byte by byte and in 7-byte pieces.
/// Throws on a finding (an exception other than a rejection, or different outcomes); returns the outcome.
/// </summary>
internal static class DifferentialCheck
{
    public static string Check(byte[] input)
    {
        if (input.Length == 0)
        {
            return "empty";
        }
        var options = OptionsFor(input[0]);
        var data = input.AsMemory(1);
        var whole = Outcome(options, [data], () => 1 << 16);
        var bytes = Outcome(options, Pieces(data, 1), () => 1);
        var sevens = Outcome(options, Pieces(data, 7), () => 5);
        if (whole != bytes || whole != sevens)
        {
            throw new InvalidOperationException($"chunking changed the outcome:\nall at once: {whole}\nbyte by byte: {bytes}\nby sevens: {sevens}");
        }
        return whole;
    }

    public static HttpParserOptions OptionsFor(byte b) => new()
    {
        PermitObsoleteFolding = (b & 1) != 0,
        ProxyProtocol = (b & 2) != 0 ? ProxyProtocolMode.Auto : ProxyProtocolMode.Off,
        LimitRequestLine = (b & 4) != 0 ? 64 : 4094,
        LimitRequestFieldSize = (b & 4) != 0 ? 48 : 8190,
        LimitRequestFields = (b & 4) != 0 ? 4 : 100,
        PermitUnconventionalHttpMethod = (b & 8) != 0,
        CasefoldHttpMethod = (b & 16) != 0,
        StripHeaderSpaces = (b & 32) != 0,
        HeaderMap = (b & 64) != 0 ? HeaderMapPolicy.Refuse : HeaderMapPolicy.Drop,
        PermitUnconventionalHttpVersion = (b & 128) != 0,
        ForwardedAllowIps = IpAllowList.Parse("*"),
    };

    private static List<ReadOnlyMemory<byte>> Pieces(ReadOnlyMemory<byte> data, int size)
    {
        var pieces = new List<ReadOnlyMemory<byte>>();
        for (var i = 0; i < data.Length; i += size)
        {
            pieces.Add(data.Slice(i, Math.Min(size, data.Length - i)));
        }
        return pieces;
    }

    private static string Outcome(HttpParserOptions options, List<ReadOnlyMemory<byte>> pieces, Func<int> readSize)
    {
        try
        {
            var requests = ConnectionSimulator.Run(options, pieces, readSize);
            var sb = new StringBuilder();
            foreach (var r in requests)
            {
                sb.Append(r.Method).Append(' ').Append(r.RawTarget).Append(' ').Append(r.Path).Append('?').Append(r.Query)
                    .Append('#').Append(r.Fragment).Append(' ').Append(r.Major).Append('.').Append(r.Minor).Append(" [")
                    .AppendJoin(", ", r.Headers.Select(h => h.Key + ": " + h.Value)).Append("] body ")
                    .Append(Convert.ToHexString(r.Body)).Append(" [").AppendJoin(", ", r.Trailers.Select(h => h.Key + ": " + h.Value))
                    .Append("] keep-alive ").Append(r.KeepAlive).Append(' ').Append(r.Proxy).Append('\n');
            }
            return sb.ToString();
        }
        catch (BadHttpRequestException e)
        {
            // The error page must build for every rejection.
            _ = e.BuildResponse();
            return $"rejected {e.Reason} {e.StatusCode} {e.GunicornError}";
        }
    }
}
