namespace Unicorn.Wsgi.Config;

/// <summary>Gunicorn's default hooks: they do nothing.</summary>
public sealed class NoServerHooks : IServerHooks
{
    public static NoServerHooks Instance { get; } = new();

    public bool IsDefined(string hookName) => false;

    public void MasterChanged(HookMasterState state)
    {
    }

    public void OnStarting(HookServer server)
    {
    }

    public void OnReload(HookServer server)
    {
    }

    public void WhenReady(HookServer server)
    {
    }

    public string? PreFork(HookServer server, HookWorker worker) => null;

    public void ChildExit(HookServer server, HookWorker worker)
    {
    }

    public void NumWorkersChanged(HookServer server, int newValue, int? oldValue)
    {
    }

    public void PreExec(HookServer server)
    {
    }

    public void OnExit(HookServer server)
    {
    }

    public void PostFork(HookServer server, HookWorker worker)
    {
    }

    public void PostWorkerInit(HookWorker worker)
    {
    }

    public void WorkerInt(HookWorker worker)
    {
    }

    public void WorkerAbort(HookWorker worker)
    {
    }

    public void WorkerExit(HookServer server, HookWorker worker)
    {
    }
}
