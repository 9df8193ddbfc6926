using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Tests.Config;

/// <summary>One Python repr for --print-config and the access log's %(x)r; expected values are CPython's own.</summary>
public sealed class PythonReprTests
{
    [Theory]
    [InlineData("abc", "'abc'")]
    [InlineData("it's", "\"it's\"")]
    [InlineData("'\"", "'\\'\"'")]
    [InlineData("a\\b\t\n\r\u0001\u007f", "'a\\\\b\\t\\n\\r\\x01\\x7f'")]
    [InlineData("\u00e9", "'\u00e9'")]
    [InlineData("a\u0085b\u00a0\u2028", "'a\\x85b\\xa0\\u2028'")] // repr('a\x85b\xa0\u2028'): unprintable, escaped
    public void Quote_is_Pythons_repr(string text, string expected) => Assert.Equal(expected, PythonRepr.Quote(text));

    [Fact]
    public void Quote_ascii_is_Pythons_ascii() => Assert.Equal("'\\xe9\\u20ac'", PythonRepr.Quote("\u00e9\u20ac", asciiOnly: true));

    [Fact]
    public void Print_config_values_use_the_same_repr() =>
        Assert.Equal("['a\\x85']", PythonRepr.Format(new[] { "a\u0085" }));
}
