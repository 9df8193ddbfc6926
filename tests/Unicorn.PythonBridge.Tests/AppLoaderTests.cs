using Unicorn.PythonBridge.Tests.Support;

namespace Unicorn.PythonBridge.Tests;

[Collection(PythonCollection.Name)]
public sealed class AppLoaderTests(PythonFixture python)
{
    private string Body(string appUri)
    {
        using var thread = new AppThread(PythonWsgiApplication.Load(python.Runtime, appUri, new WsgiAppOptions(), python.Log));
        return thread.Invoke(AppThread.Request()).BodyText;
    }

    private AppImportException Fails(string appUri) =>
        Assert.Throws<AppImportException>(() => AppLoader.Load(python.Runtime, appUri).Dispose());

    [Theory]
    [InlineData("pyfixtures.hello", "Hello, World!\n")]
    [InlineData("pyfixtures.hello:app", "Hello, World!\n")]
    [InlineData("pyfixtures.bridge_apps:factory()", "hi")]
    [InlineData("pyfixtures.bridge_apps:factory('x', n=3)", "xxx")]
    [InlineData("pyfixtures.bridge_apps:factory(\"ab\", 2)", "abab")]
    [InlineData("pyfixtures.bridge_apps:Holder.inner.app", "dotted")]
    [InlineData("pyfixtures.bridge_apps: factory( n=2 )", "hihi")]
    public void Loads_every_APP_MODULE_form(string appUri, string body) => Assert.Equal(body, Body(appUri));

    [Theory]
    [InlineData("pyfixtures.nope", "No module named 'pyfixtures.nope'")]
    [InlineData("pyfixtures.hello:missing", "Failed to find attribute 'missing' in 'pyfixtures.hello'.")]
    [InlineData("pyfixtures.bridge_apps:Holder.nope", "Failed to find attribute 'nope' in 'pyfixtures.bridge_apps'.")]
    [InlineData("pyfixtures.bridge_apps:not_callable", "Application object must be callable.")]
    [InlineData("pyfixtures.bridge_apps:factory(open('x'))", "Failed to parse arguments as literal values: \"factory(open('x'))\"")]
    [InlineData("pyfixtures.bridge_apps:factory(*args)", "Failed to parse arguments as literal values: 'factory(*args)'")]
    [InlineData("pyfixtures.bridge_apps:factory(**kw)", "Failed to parse arguments as literal values: 'factory(**kw)'")]
    [InlineData("pyfixtures.bridge_apps:factory()()", "Function reference must be a simple name: 'factory()()'")]
    [InlineData("pyfixtures.bridge_apps:1 +", "Failed to parse '1 +' as an attribute name or function call.")]
    [InlineData("pyfixtures.bridge_apps:a[0]", "Failed to parse 'a[0]' as an attribute name or function call.")]
    [InlineData("pyfixtures.bridge_apps:factory_none()", "must return a non-None value")]
    [InlineData("pyfixtures.bridge_apps:factory(1, 2, 3)", "TypeError: factory() takes from 0 to 2 positional arguments but 3 were given")]
    [InlineData("pyfixtures/hello.py", "Failed to find application, did you mean 'pyfixtures/hello:application'?")]
    public void Bad_APP_MODULE_gets_Gunicorns_message(string appUri, string message)
    {
        var e = Fails(appUri);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message.Trim());
    }

    [Fact]
    public void Error_inside_the_module_keeps_the_Python_traceback()
    {
        var e = Fails("pyfixtures.broken_import:app");
        Assert.Equal("RuntimeError: broken at import time", e.Message);
        Assert.NotNull(e.PythonTraceback);
        Assert.Contains("Traceback (most recent call last)", e.PythonTraceback, StringComparison.Ordinal);
        Assert.Contains("broken_import.py", e.PythonTraceback, StringComparison.Ordinal);
    }

    /// <summary>A module missing from the interpreter that ran (not the one the user meant) is named in the message.</summary>
    [Fact]
    public void Missing_module_has_a_traceback_too()
    {
        var e = Fails("pyfixtures.nope");
        var installation = python.Runtime.Installation;
        Assert.Equal($"ModuleNotFoundError: No module named 'pyfixtures.nope' (interpreter: {installation.Executable}, Python {installation.Version})", e.Message);
        Assert.Contains("ModuleNotFoundError", e.PythonTraceback, StringComparison.Ordinal);
    }
}
