namespace Unicorn.Wsgi.Tests.Http;

/// <summary>
/// Gunicorn's 137-case request corpus, every case in every chunking and body read mode
/// (<see cref="RequestVectorCheck"/>). Needs the corpus (see <see cref="GunicornCorpus"/>); without it the
/// theory is one skipped line, and <see cref="VectorTests"/> covers the same classes of request.
/// </summary>
public class CorpusTests
{
    public static TheoryData<string, string> Cases() => RequestVectorCheck.Rows(GunicornCorpus.Names);

    [CorpusTheory]
    [MemberData(nameof(Cases))]
    public void Case(string name, string chunking) => RequestVectorCheck.Check(GunicornCorpus.Get(name), chunking);
}
