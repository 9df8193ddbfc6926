namespace Unicorn.Wsgi.Application;

/// <summary>What became of a write.</summary>
public enum GreenletWrite
{
    /// <summary>Taken; keep writing.</summary>
    Accepted,

    /// <summary>Taken, but the client is behind: wait for the request's id before writing more.</summary>
    Wait,

    /// <summary>The client went away: stop.</summary>
    ClientGone,
}
