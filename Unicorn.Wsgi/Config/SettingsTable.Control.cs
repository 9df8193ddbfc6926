namespace Unicorn.Wsgi.Config;

// The "Control" settings, in Gunicorn's order.
public static partial class SettingsTable
{
    private const string ControlSection = "Control";

    private static IEnumerable<Setting> ControlRows() =>
    [
        new Setting
        {
            Name = "control_socket",
            Section = ControlSection,
            Type = SettingType.String,
            Flags = ["--control-socket"],
            Meta = "PATH",
            Default = DefaultControlSocket,
            DefaultDoc = "$XDG_RUNTIME_DIR/gunicorn.ctl, else $HOME/.gunicorn/gunicorn.ctl",
            Validate = Validators.String,
            Doc = "The UNIX socket the master serves its runtime control interface on (unicornctl, or Gunicorn's gunicornc): " +
                "show workers, stats, config and listeners, add or remove workers, reload, reopen logs, shut down. " +
                "Its directory is created (mode 0700) when missing. A relative path is relative to chdir (where unicorn started, without it), as in Gunicorn.",
        },
        IntRow("control_socket_mode", ControlSection, ["--control-socket-mode"], 384 /* 0o600 */,
            "File mode of the control socket; 0600 lets only its owner (and root) connect, 0660 its group too. " +
            "The peer's credentials are checked against the same rule.") with
        { CliType = CliValueType.AutoInt, Validate = Validators.PositiveInt },
        FlagRow("control_socket_disable", ControlSection, "--no-control-socket",
            "Do not create the control socket."),
    ];

    private static object? DefaultControlSocket(ResolveContext context)
    {
        if (context.GetEnvironment("XDG_RUNTIME_DIR") is { Length: > 0 } runtime && Directory.Exists(runtime))
        {
            return Path.Combine(runtime, "gunicorn.ctl");
        }

        // Without HOME, the password database's home as Python's expanduser gives it, even a missing one
        // (nobody's /nonexistent): an unverified lookup, or .NET answers "" and the socket lands in the cwd.
        var home = context.GetEnvironment("HOME")
            ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile, Environment.SpecialFolderOption.DoNotVerify);
        return Path.Combine(home, ".gunicorn", "gunicorn.ctl");
    }
}
