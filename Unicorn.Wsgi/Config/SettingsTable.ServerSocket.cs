namespace Unicorn.Wsgi.Config;

// The "Server Socket" settings, in Gunicorn's order.
public static partial class SettingsTable
{
    private const string SocketSection = "Server Socket";

    private static IEnumerable<Setting> ServerSocketRows() =>
    [
        new Setting
        {
            Name = "bind",
            Section = SocketSection,
            Type = SettingType.StringList,
            Flags = ["-b", "--bind"],
            Meta = "ADDRESS",
            Action = CliAction.Append,
            Default = c => c.GetEnvironment("PORT") is { } port ? new[] { $"0.0.0.0:{port}" } : new[] { "127.0.0.1:8000" },
            DefaultEnvironmentVariable = "PORT",
            DefaultDoc = "['127.0.0.1:8000'], or ['0.0.0.0:$PORT'] when PORT is set",
            Validate = Validators.Binds,
            DomainValue = true,
            Doc = "Where to listen: HOST, HOST:PORT, [IPV6]:PORT, unix:PATH or fd://FD. Repeat the flag to listen on several addresses.",
        },
        IntRow("backlog", SocketSection, ["--backlog"], 2048,
            "How many connections may wait to be accepted before the kernel refuses more (listen(2)'s backlog; capped by net.core.somaxconn)."),
    ];
}
