namespace Unicorn.Wsgi.Config;

// The "Server Hooks" settings, in Gunicorn's order.
public static partial class SettingsTable
{
    private const string HooksSection = "Server Hooks";

    /// <summary>The hook settings' names, in table order; each is a callable defined in the config file.</summary>
    public static IEnumerable<Setting> Hooks => All.Where(s => s.Type == SettingType.Hook);

    private static IEnumerable<Setting> HooksRows() =>
    [
        HookRow("on_starting", "OnStarting", "server", "Called in the master just before it is initialised."),
        HookRow("on_reload", "OnReload", "server", "Called in the master when it reloads on SIGHUP."),
        HookRow("when_ready", "WhenReady", "server", "Called in the master once the listeners are bound and the server has started."),
        HookRow("pre_fork", "Prefork", "server, worker", "Called in the master just before a worker is started."),
        HookRow("post_fork", "Postfork", "server, worker", "Called in a worker just after it has started."),
        HookRow("post_worker_init", "PostWorkerInit", "worker", "Called in a worker after it has loaded the application."),
        HookRow("worker_int", "WorkerInt", "worker", "Called in a worker when it gets SIGINT or SIGQUIT."),
        HookRow("worker_abort", "WorkerAbort", "worker", "Called in a worker when it gets SIGABRT, which the master sends on timeout."),
        HookRow("pre_exec", "PreExec", "server", "Called in the master just before a new master is executed (SIGUSR2)."),
        HookRow("pre_request", "PreRequest", "worker, req", "Called in a worker just before it hands a request to the application."),
        HookRow("post_request", "PostRequest", "worker, req, environ, resp",
            "Called in a worker after the application has handled a request; it may take 2, 3 or 4 arguments.") with
        { GunicornValidator = "post_request", Validate = Validators.PostRequestHook },
        HookRow("child_exit", "ChildExit", "server, worker", "Called in the master just after a worker has exited."),
        HookRow("worker_exit", "WorkerExit", "server, worker", "Called in a worker just before it exits."),
        HookRow("nworkers_changed", "NumWorkersChanged", "server, new_value, old_value",
            "Called in the master when the number of workers changes (old_value is None the first time)."),
        HookRow("on_exit", "OnExit", "server", "Called in the master just before the server exits."),
        HookRow("ssl_context", "NewSSLContext", "config, default_ssl_context_factory",
            "Called to build the ssl.SSLContext for TLS; call the factory for the default context, then adjust it. " +
            "Unicorn's TLS is .NET SslStream: the master calls the hook once (at start and at each HUP) and serves with what the returned " +
            "context asks for: its certificate chain and key (with a password), CA files or cadata, verify_mode, TLS versions " +
            "(minimum_version, maximum_version, OP_NO_TLSv1_x), set_ciphers and set_alpn_protocols. A context that asks for what " +
            "SslStream cannot do (sni_callback, load_dh_params, set_ecdh_curve, OP_NO_TICKET, a capath, CRL checks, keylog_filename) " +
            "stops the server at start-up with one line."),
    ];

    private static Setting HookRow(string name, string className, string parameters, string doc, string section = HooksSection)
    {
        var arity = parameters.Split(',').Length;
        return new Setting
        {
            Name = name,
            Section = section,
            Type = SettingType.Hook,
            HookParameters = parameters,
            HookArity = arity,
            HookDefaultName = $"{className}.{name}",
            Default = _ => new HookReference(HookOrigin.Default, $"{className}.{name}"),
            Validate = Validators.Hook(name, arity),
            Doc = doc,
            Supported = section == HooksSection,
        };
    }
}
