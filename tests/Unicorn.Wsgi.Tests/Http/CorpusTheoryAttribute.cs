namespace Unicorn.Wsgi.Tests.Http;

/// <summary>
/// A theory over Gunicorn's request corpus: skipped, with the reason, when the corpus is not on this
/// machine (a fresh clone has no ../shared), so the run reports one skipped line instead of failures.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class CorpusTheoryAttribute : TheoryAttribute
{
    public CorpusTheoryAttribute()
    {
        Skip = GunicornCorpus.MissingReason;
    }
}
