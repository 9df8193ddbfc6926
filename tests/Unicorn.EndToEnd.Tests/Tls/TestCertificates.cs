namespace Unicorn.EndToEnd.Tests.Tls;

/// <summary>
/// A throw-away PKI made with the openssl command at test time, in a temp directory removed on dispose: a CA, a
/// server certificate for localhost/127.0.0.1 signed by it, a client certificate signed by it, a self-signed
/// "rogue" client certificate, and an encrypted copy of the server key.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    public TestCertificates()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("unicorn-tls-").FullName;
        OpenSsl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", CaKey, "-out", CaCert, "-days", "2", "-subj", "/CN=Unicorn Test CA");
        Issue("server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1");
        Issue("client", "/CN=test client/O=Unicorn", "extendedKeyUsage=clientAuth");
        OpenSsl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", Path("rogue.key"), "-out", Path("rogue.pem"), "-days", "2", "-subj", "/CN=rogue");
        OpenSsl("pkey", "-in", ServerKey, "-aes256", "-passout", "pass:secret", "-out", EncryptedServerKey);
    }

    public string Directory { get; }

    public string CaKey => Path("ca.key");
    public string CaCert => Path("ca.pem");
    public string ServerCert => Path("server.pem");
    public string ServerKey => Path("server.key");
    public string ClientCert => Path("client.pem");
    public string ClientKey => Path("client.key");
    public string RogueCert => Path("rogue.pem");
    public string RogueKey => Path("rogue.key");
    public string EncryptedServerKey => Path("server-encrypted.key");

    public string Path(string name) => System.IO.Path.Combine(Directory, name);

    /// <summary>Another server certificate from the same CA, as NAME.pem/NAME.key (a renewed certificate).</summary>
    public (string Cert, string Key) IssueServer(string name, string subject)
    {
        Issue(name, subject, "subjectAltName=DNS:localhost,IP:127.0.0.1");
        return (Path(name + ".pem"), Path(name + ".key"));
    }

    private void Issue(string name, string subject, string extension)
    {
        var key = Path(name + ".key");
        var csr = Path(name + ".csr");
        var ext = Path(name + ".ext");
        File.WriteAllText(ext, extension + "\n");
        OpenSsl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", subject);
        OpenSsl("x509", "-req", "-in", csr, "-CA", CaCert, "-CAkey", CaKey, "-CAcreateserial", "-out", Path(name + ".pem"), "-days", "2", "-extfile", ext);
    }

    private void OpenSsl(params string[] args)
    {
        var result = ExternalTool.Run("openssl", args, workingDirectory: Directory);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"openssl {string.Join(' ', args)} failed: {result.All}");
        }
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
