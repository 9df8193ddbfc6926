namespace Unicorn.PythonBridge.ConfigFile;

/// <summary>
/// The Python half of <c>--paste</c>: the ini's <c>[loggers]</c> configure Python's logging (as Gunicorn's logconfig
/// does for a paste ini, with <c>here</c> and <c>__file__</c> defaults), then <c>paste.deploy.loadapp</c> builds the app.
/// </summary>
internal static class PasteDeployScript
{
    public const string FunctionName = "_unicorn_load_paste";

    public const string Source = """
import configparser
import json
import logging.config
import os


def _unicorn_load_paste(config_uri, relative_to, global_conf_json):
    from paste.deploy import loadapp
    path = config_uri.split("#")[0]
    if path.startswith("config:"):
        path = path[len("config:"):]
    parser = configparser.ConfigParser()
    parser.read([path])
    if parser.has_section("loggers"):
        defaults = {"__file__": path, "here": os.path.dirname(path)}
        logging.config.fileConfig(path, defaults, disable_existing_loggers=False)
    if ":" not in config_uri:
        config_uri = "config:" + config_uri
    return loadapp(config_uri, relative_to=relative_to, global_conf=json.loads(global_conf_json))
""";
}
