using System.Net.Security;
using static Unicorn.Wsgi.Interop.OpenSsl;

namespace Unicorn.Wsgi.Transport.Tls;

/// <summary>
/// Turns an OpenSSL cipher string (<c>--ciphers</c>, as Python's <c>SSLContext.set_ciphers</c> takes it) into the
/// cipher suites .NET's <see cref="CipherSuitesPolicy"/> wants, by asking the libssl .NET itself uses on Linux:
/// the same string selects the same suites as under Gunicorn, with OpenSSL's own syntax and errors.
/// </summary>
internal static class OpenSslCipherList
{
    /// <summary>The suites <paramref name="cipherString"/> selects; null when OpenSSL selects none (a bad string).</summary>
    public static IReadOnlyList<TlsCipherSuite>? Resolve(string cipherString)
    {
        var ctx = SSL_CTX_new(TLS_server_method());
        if (ctx == 0)
        {
            throw new InvalidOperationException("libssl could not create a TLS context");
        }

        try
        {
            if (SSL_CTX_set_cipher_list(ctx, cipherString) != 1)
            {
                return null;
            }

            var stack = SSL_CTX_get_ciphers(ctx);
            var count = stack == 0 ? 0 : OPENSSL_sk_num(stack);
            var suites = new List<TlsCipherSuite>(count);
            for (var i = 0; i < count; i++)
            {
                suites.Add((TlsCipherSuite)SSL_CIPHER_get_protocol_id(OPENSSL_sk_value(stack, i)));
            }

            return suites;
        }
        finally
        {
            SSL_CTX_free(ctx);
        }
    }
}
