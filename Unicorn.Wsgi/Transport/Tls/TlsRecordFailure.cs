using System.Security.Cryptography;

namespace Unicorn.Wsgi.Transport.Tls;

/// <summary>
/// Tells a TLS connection that sent a record no key decrypts (garbage, a tampered or misrouted stream) from one
/// whose client went away. SslStream reports both as an <see cref="IOException"/>; only the first carries
/// OpenSSL's error (a <see cref="CryptographicException"/> at the bottom of the chain), and Gunicorn logs it as a
/// bad request (`[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC] decryption failed or bad record mac`) where it stays
/// silent for a reset or an end of stream.
/// </summary>
public static class TlsRecordFailure
{
    /// <summary>OpenSSL's reason when <paramref name="e"/> is a record that failed to decrypt; null otherwise.</summary>
    public static string? Reason(Exception? e)
    {
        if (e is not IOException)
        {
            return null;
        }

        while (e.InnerException is { } inner)
        {
            e = inner;
        }

        return e is CryptographicException ? e.Message : null;
    }
}
