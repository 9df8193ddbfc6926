using System.IO.Pipelines;

namespace Unicorn.Wsgi.Workers;

/// <summary>A connection's two pipes as Kestrel takes them.</summary>
internal sealed record Http2DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
