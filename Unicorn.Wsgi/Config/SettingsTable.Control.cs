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
            Doc = "The UNIX socket of Gunicorn's runtime control interface (gunicornc).",
            Supported = false,
            UnsupportedHint = "Unicorn has no control socket; use signals",
        },
        IntRow("control_socket_mode", ControlSection, ["--control-socket-mode"], 384 /* 0o600 */,
            "File mode of the control socket.") with
        { CliType = CliValueType.AutoInt, Supported = false },
        FlagRow("control_socket_disable", ControlSection, "--no-control-socket",
            "Do not create the control socket (Unicorn never creates one)."),
    ];

    private static object? DefaultControlSocket(ResolveContext context)
    {
        if (context.GetEnvironment("XDG_RUNTIME_DIR") is { Length: > 0 } runtime && Directory.Exists(runtime))
        {
            return Path.Combine(runtime, "gunicorn.ctl");
        }

        var home = context.GetEnvironment("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(home, ".gunicorn", "gunicorn.ctl");
    }
}
