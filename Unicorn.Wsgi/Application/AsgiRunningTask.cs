namespace Unicorn.Wsgi.Application;

/// <summary>
/// An http scope whose app task has been running for a while (max_request_time under the asgi worker class).
/// </summary>
/// <param name="Id">The exchange's number in this worker: it names one request.</param>
/// <param name="StartedAt">Environment.TickCount64 when the request was handed to the loop.</param>
/// <param name="Stack">
/// Reads the task's Python stack when called (the suspended coroutine chain, or the loop thread's frames while the
/// task holds the loop); never throws.
/// </param>
public sealed record AsgiRunningTask(long Id, string Method, string Uri, long StartedAt, Func<string> Stack);
