namespace Unicorn.Wsgi.Workers;

/// <summary>What the access log and metrics read from a finished response, whichever protocol carried it.</summary>
internal interface ICompletedResponse
{
    /// <summary>The status as the app gave it ("200 OK"); "" when it never called start_response.</summary>
    string Status { get; }

    /// <summary>Body bytes sent (the access log's %(B)s).</summary>
    long BodyBytesSent { get; }

    IReadOnlyList<KeyValuePair<string, string>> Headers { get; }
}
