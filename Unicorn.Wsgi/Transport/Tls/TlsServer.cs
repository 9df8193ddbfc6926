using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Unicorn.Wsgi.Config;

namespace Unicorn.Wsgi.Transport.Tls;

/// <summary>
/// TLS for the listeners when <c>certfile</c>/<c>keyfile</c> are set: the certificate, client-certificate policy
/// (<c>cert_reqs</c>, <c>ca_certs</c>) and cipher list (<c>ciphers</c>) are read once per process, then each
/// accepted connection is wrapped in an <see cref="SslStream"/> whose handshake runs on .NET async I/O, off the
/// Python threads, bounded by a timeout. The master builds one too, before binding, so a bad certificate, key or
/// cipher string stops the server with one line instead of failing every worker's boot.
/// </summary>
public sealed class TlsServer
{
    private readonly SslServerAuthenticationOptions _options;
    private readonly X509Certificate2Collection? _trustedCas;
    private readonly ClientCertificateMode _clientCertificates;
    private readonly IReadOnlyList<string>? _alpn;

    // Why the validation callback refused a client's certificate, by SslStream, for the handshake's log line.
    private readonly ConditionalWeakTable<object, string> _rejections = new();

    private TlsServer(TlsSettings settings)
    {
        var certificate = LoadCertificate(settings.CertFile, settings.KeyFile, settings.Password);
        _clientCertificates = settings.CertReqs;
        _trustedCas = LoadCaCertificates(settings.CaFiles, settings.CaPem);
        _alpn = settings.Alpn;
        var ciphers = settings.Ciphers is { } cipherString ? ResolveCiphers(cipherString) : null;

        // With client certificates, the CAs go to the client in the CertificateRequest, as OpenSSL does.
        var trust = _trustedCas is not null && _clientCertificates != ClientCertificateMode.None
            ? SslCertificateTrust.CreateForX509Collection(_trustedCas, sendTrustInHandshake: true)
            : null;
        _options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(certificate, Intermediates(settings.CertFile, certificate), offline: true, trust),
            ClientCertificateRequired = _clientCertificates != ClientCertificateMode.None,
            RemoteCertificateValidationCallback = ValidateClientCertificate,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            CipherSuitesPolicy = ciphers,
            EnabledSslProtocols = Protocols(settings.Versions),
        };
        OfferApplicationProtocols(["http/1.1"]);
    }

    /// <summary>TLS as configured, or null when neither certfile nor keyfile is set.</summary>
    /// <param name="baseDirectory">Where relative file names are looked up (the working directory after <c>chdir</c>).</param>
    /// <exception cref="ConfigException">A missing or unreadable file, an encrypted key, a bad cipher string or an
    /// <c>ssl_context</c> hook whose context asks for what SslStream cannot do; the message is the one line to show.</exception>
    public static TlsServer? FromSettings(Settings settings, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return TlsSettings.From(settings, baseDirectory) is { } tls ? new TlsServer(tls) : null;
    }

    /// <summary>
    /// The ALPN protocols to offer, in order of preference: the names of the worker's protocol handlers. Call it
    /// before the first handshake. Without it, "http/1.1" is offered. An <c>ssl_context</c> hook's
    /// <c>set_alpn_protocols</c> narrows and orders them.
    /// </summary>
    public void OfferApplicationProtocols(IReadOnlyList<string> protocols)
    {
        ArgumentNullException.ThrowIfNull(protocols);
        var offered = _alpn is null ? protocols : [.. _alpn.Where(protocols.Contains)];
        _options.ApplicationProtocols = offered.Count == 0 ? null : [.. offered.Select(p => new SslApplicationProtocol(p))];
    }

    // The versions an ssl_context hook's context allows; none named: the system's.
#pragma warning disable SYSLIB0039 // TLS 1.0 and 1.1 only when the hook's context asks for them, as Python would allow them
    private static SslProtocols Protocols(IReadOnlyList<string>? versions) =>
        versions is null ? SslProtocols.None : versions.Aggregate(SslProtocols.None, (all, v) => all | v switch
        {
            "TLSv1" => SslProtocols.Tls,
            "TLSv1_1" => SslProtocols.Tls11,
            "TLSv1_2" => SslProtocols.Tls12,
            "TLSv1_3" => SslProtocols.Tls13,
            _ => throw new ConfigException($"unicorn: the ssl_context hook's context allows {v}, which Unicorn does not know"),
        });
#pragma warning restore SYSLIB0039

    /// <summary>
    /// The server side of the handshake on <paramref name="transport"/>; null when it fails or takes longer than
    /// <paramref name="timeout"/> (the caller closes the connection, as Gunicorn drops a failed SSL handshake).
    /// A handshake the server refused (no or an untrusted client certificate, no shared protocol or cipher, bytes
    /// that are not TLS) is passed to <paramref name="refused"/> with why, which Gunicorn logs as a bad request; a
    /// client that went away or a timeout is not.
    /// </summary>
    public async Task<TlsConnection?> AuthenticateAsync(
        Stream transport, TimeSpan timeout, CancellationToken stopping, Action<string>? refused = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        var ssl = new SslStream(transport, leaveInnerStreamOpen: false);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        cts.CancelAfter(timeout);
        try
        {
            await ssl.AuthenticateAsServerAsync(_options, cts.Token);
            return new TlsConnection(ssl);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            if (e is AuthenticationException && refused is not null)
            {
                refused(_rejections.TryGetValue(ssl, out var why) ? why : Innermost(e).Message);
            }

            await ssl.DisposeAsync();
            return null;
        }
    }

    private bool ValidateClientCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            // CERT_OPTIONAL lets a client without a certificate in; CERT_REQUIRED does not.
            if (_clientCertificates == ClientCertificateMode.Required)
            {
                _rejections.AddOrUpdate(sender, "peer did not return a certificate");
                return false;
            }

            return true;
        }

        // A presented certificate must verify in either mode, as OpenSSL's SSL_VERIFY_PEER does.
        using var verify = new X509Chain();
        verify.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (_trustedCas is not null)
        {
            verify.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            verify.ChainPolicy.CustomTrustStore.AddRange(_trustedCas);
        }

        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                verify.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        if (verify.Build(leaf))
        {
            return true;
        }

        var status = verify.ChainStatus.Select(s => s.StatusInformation.Trim()).FirstOrDefault(s => s.Length > 0);
        _rejections.AddOrUpdate(sender, status is null ? "certificate verify failed" : $"certificate verify failed: {status}");
        return false;
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is { } inner)
        {
            e = inner;
        }

        return e;
    }

    /// <summary>The certificates after the first in certfile: the chain sent along with it.</summary>
    private static X509Certificate2Collection Intermediates(string certFile, X509Certificate2 leaf)
    {
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(certFile);
        var intermediates = new X509Certificate2Collection();
        foreach (var c in all)
        {
            if (c.Thumbprint != leaf.Thumbprint)
            {
                intermediates.Add(c);
            }
        }

        return intermediates;
    }

    // Null when none is named: the system's trust, as Python's default context loads it.
    private static X509Certificate2Collection? LoadCaCertificates(IReadOnlyList<string> caFiles, IReadOnlyList<string> caPem)
    {
        if (caFiles.Count == 0 && caPem.Count == 0)
        {
            return null;
        }

        var cas = new X509Certificate2Collection();
        foreach (var caFile in caFiles)
        {
            var count = cas.Count;
            try
            {
                cas.ImportFromPemFile(caFile);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw new ConfigException($"unicorn: cannot read ca_certs \"{caFile}\": {e.Message.TrimEnd('.')}");
            }

            if (cas.Count == count)
            {
                throw new ConfigException($"unicorn: ca_certs \"{caFile}\" holds no PEM certificate");
            }
        }

        foreach (var pem in caPem)
        {
            try
            {
                cas.ImportFromPem(pem);
            }
            catch (CryptographicException e)
            {
                throw new ConfigException($"unicorn: the ssl_context hook's cadata holds no certificate .NET can read: {e.Message.TrimEnd('.')}");
            }
        }

        return cas;
    }

    private static CipherSuitesPolicy ResolveCiphers(string cipherString)
    {
        IReadOnlyList<TlsCipherSuite>? suites;
        try
        {
            suites = OpenSslCipherList.Resolve(cipherString);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new ConfigException($"unicorn: --ciphers needs OpenSSL 3 (libssl.so.3) to read the cipher list: {e.Message}");
        }

        if (suites is null || suites.Count == 0)
        {
            throw new ConfigException($"unicorn: --ciphers '{cipherString}' selects no cipher (OpenSSL cipher list syntax)");
        }

        // Unicorn runs on Linux only (fork-free workers, libc interop); the guard is for the analyzer.
        return OperatingSystem.IsWindows() ? throw new PlatformNotSupportedException() : new CipherSuitesPolicy(suites);
    }

    private static X509Certificate2 LoadCertificate(string certFile, string keyFile, string? password)
    {
        string certText, keyText;
        try
        {
            certText = File.ReadAllText(certFile);
            keyText = File.ReadAllText(keyFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"unicorn: cannot read the TLS certificate or key: {e.Message}");
        }

        if (password is not null && keyText.Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----", StringComparison.Ordinal))
        {
            try
            {
                return X509Certificate2.CreateFromEncryptedPem(certText, keyText, password);
            }
            catch (CryptographicException e)
            {
                throw new ConfigException($"unicorn: cannot load certfile \"{certFile}\" with the encrypted keyfile \"{keyFile}\" and the ssl_context hook's password: {e.Message.TrimEnd('.')}");
            }
        }

        if (keyText.Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----", StringComparison.Ordinal)
            || keyText.Contains("Proc-Type: 4,ENCRYPTED", StringComparison.Ordinal))
        {
            throw new ConfigException(password is null
                ? $"unicorn: keyfile \"{keyFile}\" is encrypted; Unicorn cannot ask for its passphrase: decrypt it (openssl pkey -in KEY -out NEWKEY) and protect the file with its permissions"
                : $"unicorn: keyfile \"{keyFile}\" is encrypted in the legacy PEM form .NET cannot read; convert it to PKCS#8 (openssl pkcs8 -topk8 -in KEY -out NEWKEY)");
        }

        try
        {
            return X509Certificate2.CreateFromPem(certText, keyText);
        }
        catch (CryptographicException e)
        {
            // .NET says one thing for three mistakes (no certificate, no key, a key of another certificate);
            // Python's load_cert_chain names which, and so does this.
            throw new ConfigException(LoadFailure(certFile, certText, keyFile, keyText) ?? $"unicorn: cannot load certfile \"{certFile}\" with keyfile \"{keyFile}\": {e.Message.TrimEnd('.')}");
        }
    }

    private static string? LoadFailure(string certFile, string certText, string keyFile, string keyText)
    {
        try
        {
            using var certificate = X509Certificate2.CreateFromPem(certText);
        }
        catch (CryptographicException e)
        {
            return $"unicorn: certfile \"{certFile}\" holds no PEM certificate .NET can read: {e.Message.TrimEnd('.')}";
        }

        if (!ReadsAsPrivateKey(keyText))
        {
            return $"unicorn: keyfile \"{keyFile}\" holds no PEM private key (RSA, EC or DSA) .NET can read";
        }

        return $"unicorn: keyfile \"{keyFile}\" does not hold the private key of certfile \"{certFile}\" (its first certificate)";
    }

    private static bool ReadsAsPrivateKey(string keyText)
    {
        foreach (var create in new Func<AsymmetricAlgorithm>[] { RSA.Create, ECDsa.Create, DSA.Create })
        {
            using var key = create();
            try
            {
                key.ImportFromPem(keyText);
                return true;
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException)
            {
            }
        }

        return false;
    }
}
