namespace Unicorn.PythonBridge.ConfigFile;

/// <summary>
/// The Python half of <c>--paste</c>: <c>paste.deploy.loadapp</c> builds the app. The ini's <c>[loggers]</c> are not
/// applied here: the resolver makes the ini the <c>logconfig</c>, which every process applies as it sets up logging.
/// </summary>
internal static class PasteDeployScript
{
    public const string FunctionName = "_unicorn_load_paste";

    public const string Source = """
import json


def _unicorn_load_paste(config_uri, relative_to, global_conf_json):
    from paste.deploy import loadapp
    if ":" not in config_uri:
        config_uri = "config:" + config_uri
    return loadapp(config_uri, relative_to=relative_to, global_conf=json.loads(global_conf_json))
""";
}
