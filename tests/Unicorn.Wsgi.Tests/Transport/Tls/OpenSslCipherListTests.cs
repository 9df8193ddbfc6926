using System.Net.Security;
using Unicorn.Wsgi.Transport.Tls;

namespace Unicorn.Wsgi.Tests.Transport.Tls;

public sealed class OpenSslCipherListTests
{
    [Fact]
    public void An_openssl_cipher_string_selects_those_tls12_suites_and_keeps_tls13()
    {
        var suites = OpenSslCipherList.Resolve("ECDHE-RSA-AES128-GCM-SHA256")!;
        Assert.Contains(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, suites);
        Assert.DoesNotContain(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, suites);
        Assert.Contains(TlsCipherSuite.TLS_AES_256_GCM_SHA384, suites);
    }

    [Fact]
    public void Openssl_keywords_and_exclusions_work_as_in_python_set_ciphers()
    {
        var suites = OpenSslCipherList.Resolve("ECDHE+AESGCM:!AES256")!;
        Assert.Contains(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, suites);
        Assert.DoesNotContain(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, suites);
        Assert.DoesNotContain(TlsCipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256, suites);
    }

    [Theory]
    [InlineData("NO-SUCH-CIPHER")]
    [InlineData("")]
    public void A_string_that_selects_nothing_is_null(string cipherString) =>
        Assert.Null(OpenSslCipherList.Resolve(cipherString));
}
