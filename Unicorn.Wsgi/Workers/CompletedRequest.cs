using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Workers;

/// <summary>What the access log and metrics learn about one finished request.</summary>
internal readonly record struct CompletedRequest(WsgiRequest Request, ICompletedResponse Response, DateTimeOffset StartTime, TimeSpan Duration);
