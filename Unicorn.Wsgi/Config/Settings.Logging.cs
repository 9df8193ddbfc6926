namespace Unicorn.Wsgi.Config;

// Typed views of the logging settings (Logging/LoggingSetup builds the logs from these).
public sealed partial class Settings
{
    public string? AccessLog => Get<string?>("accesslog");
    public bool DisableRedirectAccessToSyslog => Get<bool>("disable_redirect_access_to_syslog");
    public string? AccessLogFormat => Get<string?>("access_log_format");
    public string? ErrorLog => Get<string?>("errorlog");
    public string? LogLevel => Get<string?>("loglevel");
    public bool CaptureOutput => Get<bool>("capture_output");
    public string? LoggerClass => Get<string?>("logger_class");
    public string? LogConfig => Get<string?>("logconfig");

    /// <summary>The <see cref="LogConfig"/> is the <c>--paste</c> ini (its <c>[loggers]</c>), no config file's or option's.</summary>
    public bool LogConfigIsPasteIni => SourceOf("logconfig") == SettingSource.Framework;

    public IReadOnlyDictionary<string, object?> LogConfigDict => Get<IReadOnlyDictionary<string, object?>>("logconfig_dict");
    public string? LogConfigJson => Get<string?>("logconfig_json");
    public string? SyslogAddr => Get<string?>("syslog_addr");
    public bool Syslog => Get<bool>("syslog");
    public string? SyslogPrefix => Get<string?>("syslog_prefix");
    public string? SyslogFacility => Get<string?>("syslog_facility");
    public StatsdAddress? StatsdHost => Get<StatsdAddress?>("statsd_host");
    public string? DogstatsdTags => Get<string?>("dogstatsd_tags");
    public string? StatsdPrefix => Get<string?>("statsd_prefix");
    public bool EnableBacklogMetric => Get<bool>("enable_backlog_metric");
    public string? MetricsBind => Get<string?>("metrics_bind");
}
