namespace Unicorn.PythonBridge;

/// <summary>The per-worker constants of environ.</summary>
public sealed record WsgiAppOptions
{
    /// <summary>SERVER_SOFTWARE.</summary>
    public static string DefaultServerSoftware { get; } =
        "unicorn/" + (typeof(WsgiAppOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    /// <summary>wsgi.multithread: requests run concurrently in this worker (gthread's threads; gevent's and eventlet's
    /// greenlets, as Gunicorn's async workers say).</summary>
    public bool Multithread { get; init; }

    /// <summary>Whether one Python thread calls the app (sync, a greenlet hub), so a small body is sent with the GIL
    /// held (<c>PythonWsgiApplication.SendsHoldingGil</c>); null: when not <see cref="Multithread"/>.</summary>
    public bool? OneAppThread { get; init; }

    /// <summary>wsgi.multiprocess: more than one worker process.</summary>
    public bool Multiprocess { get; init; }

    public string ServerSoftware { get; init; } = DefaultServerSoftware;

    /// <summary>
    /// --reload, as Gunicorn's worker: an app whose import raises SyntaxError is replaced by one answering its traceback
    /// as a 500, and the file is watched, so saving the fix brings the app up (instead of a worker that cannot boot).
    /// </summary>
    public bool ServeSyntaxErrors { get; init; }
}
