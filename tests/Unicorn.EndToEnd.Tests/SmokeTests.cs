namespace Unicorn.EndToEnd.Tests;

public class ProjectBuilds
{
    [Fact]
    public void Builds() => Assert.True(true);
}
