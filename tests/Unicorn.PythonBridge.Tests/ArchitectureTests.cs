using System.Reflection;
using Mono.Cecil;
using Mono.Cecil.Cil;
using Unicorn.Wsgi.ProcessContract;

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

    [Fact]
    public void The_command_line_is_read_only_through_ProgramCommandLine()
    {
        // In the native build .NET starts inside a shared library and hands it no command line: only the launcher's
        // argv, handed over to ProgramCommandLine by the native entry, has it.
        var offenders = new List<string>();
        foreach (var assembly in new[] { Assembly.Load("unicorn"), typeof(PythonRuntime).Assembly, typeof(ProgramCommandLine).Assembly })
        {
            using var module = ModuleDefinition.ReadModule(assembly.Location);
            offenders.AddRange(module.GetTypes()
                .Where(t => t.FullName != typeof(ProgramCommandLine).FullName)
                .SelectMany(t => t.Methods)
                .Where(m => m.HasBody && m.Body.Instructions.Any(i => i.OpCode.FlowControl == FlowControl.Call
                    && i.Operand is MethodReference r && r.DeclaringType.FullName == "System.Environment" && r.Name == "GetCommandLineArgs"))
                .Select(m => $"{m.DeclaringType.FullName}.{m.Name}"));
        }

        Assert.True(offenders.Count == 0, "Environment.GetCommandLineArgs outside ProgramCommandLine: " + string.Join(", ", offenders));
    }
}
