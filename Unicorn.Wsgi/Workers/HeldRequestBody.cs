using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Workers;

/// <summary>A body read before the app ran and left in the connection's receive buffers until the app is done.</summary>
internal abstract class HeldRequestBody : RequestBody
{
    /// <summary>The request is done: the receive buffers are about to move on, and nothing may read them through this body.</summary>
    public abstract void Release();
}
