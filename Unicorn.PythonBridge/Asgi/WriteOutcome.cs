namespace Unicorn.PythonBridge.Asgi;

/// <summary>How a started write ended, as <c>Server.written</c> reads it: 0, 1 or 2.</summary>
internal enum WriteOutcome
{
    /// <summary>The bytes were taken.</summary>
    Done = 0,

    /// <summary>The client went away: OSError in the app.</summary>
    Gone = 1,

    /// <summary>Anything else: RuntimeError in the app.</summary>
    Failed = 2,
}
