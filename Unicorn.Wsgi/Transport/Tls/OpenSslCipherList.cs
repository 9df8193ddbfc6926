using System.Net.Security;
using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Transport.Tls;

/// <summary>
/// Turns an OpenSSL cipher string (<c>--ciphers</c>, as Python's <c>SSLContext.set_ciphers</c> takes it) into the
/// cipher suites .NET's <see cref="CipherSuitesPolicy"/> wants, by asking the libssl .NET itself uses on Linux:
/// the same string selects the same suites as under Gunicorn, with OpenSSL's own syntax and errors.
/// </summary>
internal static partial class OpenSslCipherList
{
    private const string LibSsl = "libssl.so.3";

    // const SSL_METHOD *TLS_server_method(void);  <openssl/ssl.h>
    [LibraryImport(LibSsl, EntryPoint = "TLS_server_method")]
    private static partial nint TLS_server_method();

    // SSL_CTX *SSL_CTX_new(const SSL_METHOD *method);
    [LibraryImport(LibSsl, EntryPoint = "SSL_CTX_new")]
    private static partial nint SSL_CTX_new(nint method);

    // void SSL_CTX_free(SSL_CTX *ctx);
    [LibraryImport(LibSsl, EntryPoint = "SSL_CTX_free")]
    private static partial void SSL_CTX_free(nint ctx);

    // int SSL_CTX_set_cipher_list(SSL_CTX *ctx, const char *str);  (TLS 1.2 and older, as Python's set_ciphers)
    [LibraryImport(LibSsl, EntryPoint = "SSL_CTX_set_cipher_list", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SSL_CTX_set_cipher_list(nint ctx, string str);

    // STACK_OF(SSL_CIPHER) *SSL_CTX_get_ciphers(const SSL_CTX *ctx);  (TLS 1.3 suites first, then the list)
    [LibraryImport(LibSsl, EntryPoint = "SSL_CTX_get_ciphers")]
    private static partial nint SSL_CTX_get_ciphers(nint ctx);

    // int OPENSSL_sk_num(const OPENSSL_STACK *);  <openssl/stack.h>
    [LibraryImport(LibSsl, EntryPoint = "OPENSSL_sk_num")]
    private static partial int OPENSSL_sk_num(nint stack);

    // void *OPENSSL_sk_value(const OPENSSL_STACK *, int);
    [LibraryImport(LibSsl, EntryPoint = "OPENSSL_sk_value")]
    private static partial nint OPENSSL_sk_value(nint stack, int index);

    // uint16_t SSL_CIPHER_get_protocol_id(const SSL_CIPHER *c);  (the IANA number, as TlsCipherSuite)
    [LibraryImport(LibSsl, EntryPoint = "SSL_CIPHER_get_protocol_id")]
    private static partial ushort SSL_CIPHER_get_protocol_id(nint cipher);

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
