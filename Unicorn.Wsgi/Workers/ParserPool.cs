using Unicorn.Wsgi.Http;

namespace Unicorn.Wsgi.Workers;

/// <summary>
/// Request parsers and heads of finished HTTP/1 connections, kept for the next ones: with a connection per
/// request (nginx's default proxy_pass) each connection would otherwise make a parser and a head with its
/// header list. Bounded, so a burst of connections leaves no more than <see cref="Capacity"/> behind.
/// </summary>
internal sealed class ParserPool(HttpParserOptions options)
{
    public const int Capacity = 64;

    private readonly Lock _lock = new();
    private readonly Stack<(Http1RequestParser Parser, RequestHead Head)> _free = new(Capacity);

    public (Http1RequestParser Parser, RequestHead Head) Rent()
    {
        lock (_lock)
        {
            if (_free.TryPop(out var pair))
            {
                return pair;
            }
        }

        return (new Http1RequestParser(options), new RequestHead());
    }

    /// <summary>Takes back a pair whose connection is over; nothing may use them afterwards.</summary>
    public void Return(Http1RequestParser parser, RequestHead head)
    {
        head.Reset();
        lock (_lock)
        {
            if (_free.Count < Capacity)
            {
                _free.Push((parser, head));
            }
        }
    }
}
