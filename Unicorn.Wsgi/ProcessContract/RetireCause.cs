namespace Unicorn.Wsgi.ProcessContract;

/// <summary>Why a worker asked to be replaced (its heartbeat says so), for the restart metric's cause.</summary>
public enum RetireCause : byte
{
    MaxRequests = 0,
    MaxRequestTime = 1,
    CodeReload = 2,
}
