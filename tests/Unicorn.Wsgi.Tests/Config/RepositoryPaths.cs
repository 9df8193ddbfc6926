namespace Unicorn.Wsgi.Tests.Config;

internal static class RepositoryPaths
{
    /// <summary>The checkout's root: the first directory above the test binaries holding Unicorn.sln.</summary>
    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Unicorn.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("cannot find the repository root (Unicorn.sln) above " + AppContext.BaseDirectory);
        }
    }
}
