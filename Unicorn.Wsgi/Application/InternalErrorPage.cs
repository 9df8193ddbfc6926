using System.Text;

namespace Unicorn.Wsgi.Application;

/// <summary>
/// The body of the 500 a WSGI app's exception gets: Gunicorn's error page with no detail (util.write_error),
/// byte for byte, as <c>ErrorResponse</c> builds it for refused requests. Here so that the app hosts, which sit
/// below the HTTP layer, share one copy.
/// </summary>
public static class InternalErrorPage
{
    public static ReadOnlySpan<byte> Body => s_body;

    private static readonly byte[] s_body = Encoding.ASCII.GetBytes(
        "<html>\n  <head>\n    <title>Internal Server Error</title>\n  </head>\n  <body>\n" +
        "    <h1><p>Internal Server Error</p></h1>\n    \n  </body>\n</html>\n");
}
