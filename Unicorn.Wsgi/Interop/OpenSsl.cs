using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Interop;

/// <summary>
/// The libssl calls <c>--ciphers</c> needs (<see cref="Transport.Tls.OpenSslCipherList"/>), from the libssl .NET itself
/// loads on Linux, with the C names kept.
/// </summary>
internal static partial class OpenSsl
{
    private const string LibSsl = "libssl.so.3";

    // const SSL_METHOD *TLS_server_method(void);  <openssl/ssl.h>
    [LibraryImport(LibSsl, EntryPoint = "TLS_server_method")]
    public static partial nint TLS_server_method();

    // SSL_CTX *SSL_CTX_new(const SSL_METHOD *method);
    [LibraryImport(LibSsl, EntryPoint = "SSL_CTX_new")]
    public static partial nint SSL_CTX_new(nint method);

    // void SSL_CTX_free(SSL_CTX *ctx);
    [LibraryImport(LibSsl, EntryPoint = "SSL_CTX_free")]
    public static partial void SSL_CTX_free(nint ctx);

    // int SSL_CTX_set_cipher_list(SSL_CTX *ctx, const char *str);  (TLS 1.2 and older, as Python's set_ciphers)
    [LibraryImport(LibSsl, EntryPoint = "SSL_CTX_set_cipher_list", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SSL_CTX_set_cipher_list(nint ctx, string str);

    // STACK_OF(SSL_CIPHER) *SSL_CTX_get_ciphers(const SSL_CTX *ctx);  (TLS 1.3 suites first, then the list)
    [LibraryImport(LibSsl, EntryPoint = "SSL_CTX_get_ciphers")]
    public static partial nint SSL_CTX_get_ciphers(nint ctx);

    // int OPENSSL_sk_num(const OPENSSL_STACK *);  <openssl/stack.h>
    [LibraryImport(LibSsl, EntryPoint = "OPENSSL_sk_num")]
    public static partial int OPENSSL_sk_num(nint stack);

    // void *OPENSSL_sk_value(const OPENSSL_STACK *, int);
    [LibraryImport(LibSsl, EntryPoint = "OPENSSL_sk_value")]
    public static partial nint OPENSSL_sk_value(nint stack, int index);

    // uint16_t SSL_CIPHER_get_protocol_id(const SSL_CIPHER *c);  (the IANA number, as TlsCipherSuite)
    [LibraryImport(LibSsl, EntryPoint = "SSL_CIPHER_get_protocol_id")]
    public static partial ushort SSL_CIPHER_get_protocol_id(nint cipher);
}
