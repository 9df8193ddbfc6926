using System.Reflection;

namespace Unicorn.PythonBridge.Tests;

/// <summary>pythonnet stays inside Unicorn.PythonBridge (Unicorn.Wsgi is checked in Unicorn.Wsgi.Tests).</summary>
public sealed class ArchitectureTests
{
    [Fact]
    public void The_executable_reaches_Python_only_through_the_bridge()
    {
        var cli = Assembly.Load("unicorn");
        var references = cli.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.Contains("Unicorn.PythonBridge", references);
        Assert.DoesNotContain("Python.Runtime", references);
    }

    [Fact]
    public void The_bridge_is_the_one_that_references_pythonnet() =>
        Assert.Contains(typeof(PythonRuntime).Assembly.GetReferencedAssemblies(), a => a.Name == "Python.Runtime");
}
