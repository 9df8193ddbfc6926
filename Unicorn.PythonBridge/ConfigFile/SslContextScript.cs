namespace Unicorn.PythonBridge.ConfigFile;

/// <summary>
/// The Python half of the <c>ssl_context</c> hook. Unicorn's TLS is .NET's <c>SslStream</c>, which a Python
/// <c>ssl.SSLContext</c> cannot drive, so the master calls the hook once (at start and at each HUP) with Gunicorn's
/// default factory and reads back what the returned context asks for: what was loaded into it (recorded as the hook
/// loads it, since a context does not say), its TLS versions and client-certificate mode. What
/// <c>SslStream</c> cannot honour is named, so the master refuses it instead of serving without it.
/// </summary>
internal static class SslContextScript
{
    public const string Source = """
def _unicorn_ssl_context(hook, cfg):
    import ssl

    def noted(ctx):
        return ctx.__dict__.setdefault("_unicorn_tls", {
            "cert_file": None, "key_file": None, "password": None, "ca_files": [], "ca_pem": [],
            "ciphers": None, "alpn": None, "refused": []})

    cls = ssl.SSLContext
    original = {name: getattr(cls, name) for name in (
        "load_cert_chain", "load_verify_locations", "set_ciphers", "set_alpn_protocols", "load_dh_params",
        "set_ecdh_curve")}
    own = {name: cls.__dict__[name] for name in original if name in cls.__dict__}

    def load_cert_chain(self, certfile, keyfile=None, password=None):
        if callable(password):
            password = password()
        original["load_cert_chain"](self, certfile, keyfile, password)
        n = noted(self)
        n["cert_file"] = os.path.abspath(os.fsdecode(certfile))
        n["key_file"] = os.path.abspath(os.fsdecode(keyfile)) if keyfile is not None else None
        n["password"] = password.decode("utf-8") if isinstance(password, (bytes, bytearray)) else password

    def load_verify_locations(self, cafile=None, capath=None, cadata=None):
        original["load_verify_locations"](self, cafile, capath, cadata)
        n = noted(self)
        if cafile is not None:
            n["ca_files"].append(os.path.abspath(os.fsdecode(cafile)))
        if capath is not None:
            n["refused"].append("load_verify_locations(capath=...)")
        if isinstance(cadata, str):
            n["ca_pem"].append(cadata)
        elif cadata is not None:
            n["ca_pem"].append(ssl.DER_cert_to_PEM_cert(bytes(cadata)))

    def set_ciphers(self, ciphers):
        original["set_ciphers"](self, ciphers)
        noted(self)["ciphers"] = ciphers

    def set_alpn_protocols(self, protocols):
        original["set_alpn_protocols"](self, protocols)
        noted(self)["alpn"] = list(protocols)

    def refused(name):
        def call(self, *args, **kwargs):
            original[name](self, *args, **kwargs)
            noted(self)["refused"].append(name + "()")
        return call

    def default_ssl_context_factory():
        # Gunicorn's (sock.ssl_context): the default context from the TLS settings.
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=cfg.ca_certs)
        context.load_cert_chain(certfile=cfg.certfile, keyfile=cfg.keyfile)
        context.verify_mode = cfg.cert_reqs
        if cfg.ciphers:
            context.set_ciphers(cfg.ciphers)
        alpn = [{"h1": "http/1.1", "h2": "h2"}[p] for p in cfg.http_protocols if p in ("h1", "h2")]
        if alpn:
            context.set_alpn_protocols(alpn)
        return context

    patched = {"load_cert_chain": load_cert_chain, "load_verify_locations": load_verify_locations,
               "set_ciphers": set_ciphers, "set_alpn_protocols": set_alpn_protocols,
               "load_dh_params": refused("load_dh_params"), "set_ecdh_curve": refused("set_ecdh_curve")}
    for name, fn in patched.items():
        setattr(cls, name, fn)
    try:
        ctx = hook(cfg, default_ssl_context_factory)
    finally:
        for name in patched:
            if name in own:
                setattr(cls, name, own[name])
            else:
                delattr(cls, name)

    if not isinstance(ctx, ssl.SSLContext):
        raise TypeError("it returned %s, not an ssl.SSLContext" % type(ctx).__name__)
    n = dict(noted(ctx))
    if n["cert_file"] is None:
        raise ValueError("the context it returned has no certificate (load_cert_chain was not called on it)")
    if ctx.sni_callback is not None:
        n["refused"].append("sni_callback")
    if ctx.keylog_filename:
        n["refused"].append("keylog_filename")
    if ctx.verify_flags & (ssl.VERIFY_CRL_CHECK_LEAF | ssl.VERIFY_CRL_CHECK_CHAIN):
        n["refused"].append("verify_flags with CRL checks")

    low, high, options = ctx.minimum_version, ctx.maximum_version, ctx.options
    table = ((ssl.TLSVersion.TLSv1, ssl.OP_NO_TLSv1, "TLSv1"), (ssl.TLSVersion.TLSv1_1, ssl.OP_NO_TLSv1_1, "TLSv1_1"),
             (ssl.TLSVersion.TLSv1_2, ssl.OP_NO_TLSv1_2, "TLSv1_2"), (ssl.TLSVersion.TLSv1_3, ssl.OP_NO_TLSv1_3, "TLSv1_3"))
    if (low == ssl.TLSVersion.MINIMUM_SUPPORTED and high == ssl.TLSVersion.MAXIMUM_SUPPORTED
            and not options & (ssl.OP_NO_TLSv1_2 | ssl.OP_NO_TLSv1_3)):
        n["versions"] = None  # the system's, as the default context has
    else:
        # Unset bounds are the system's: TLS 1.2 (Debian's OpenSSL default) to 1.3.
        low = ssl.TLSVersion.TLSv1_2 if low == ssl.TLSVersion.MINIMUM_SUPPORTED else low
        high = ssl.TLSVersion.TLSv1_3 if high == ssl.TLSVersion.MAXIMUM_SUPPORTED else high
        n["versions"] = [name for version, off, name in table if low <= version <= high and not options & off]
        if not n["versions"]:
            raise ValueError("the context it returned allows no TLS version")
    if options & ssl.OP_NO_TICKET:
        n["refused"].append("OP_NO_TICKET")
    n["verify_mode"] = int(ctx.verify_mode)
    return json.dumps(n)
""";
}
