namespace Unicorn.Wsgi.ProcessContract;

/// <summary>Why the master gives up on a worker.</summary>
public enum WorkerTimeout
{
    None,

    /// <summary>Not ready to serve within the boot allowance of its start: stuck starting or importing the app.</summary>
    Boot,

    /// <summary>Ready, then silent for longer than <c>timeout</c> (a request stuck).</summary>
    Silent,
}
