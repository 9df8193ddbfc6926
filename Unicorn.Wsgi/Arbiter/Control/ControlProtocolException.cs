namespace Unicorn.Wsgi.Arbiter.Control;

/// <summary>A request the control socket cannot read; <see cref="Fatal"/> when the framing is lost and the connection must close.</summary>
public sealed class ControlProtocolException(string message, bool fatal) : Exception(message)
{
    public bool Fatal { get; } = fatal;
}
