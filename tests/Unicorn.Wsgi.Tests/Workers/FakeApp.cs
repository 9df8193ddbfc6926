using System.Text;
using Unicorn.Wsgi.Application;

namespace Unicorn.Wsgi.Tests.Workers;

/// <summary>An app seam implementation driven by a C# delegate, standing in for Python.</summary>
internal sealed class FakeApp(Action<WsgiRequest, IResponseSink> handler) : IWsgiApplication
{
    public int AttachedThreads;

    public IWsgiThread AttachThread()
    {
        Interlocked.Increment(ref AttachedThreads);
        return new Thread(handler);
    }

    private sealed class Thread(Action<WsgiRequest, IResponseSink> handler) : IWsgiThread
    {
        public void Invoke(WsgiRequest request, IResponseSink response)
        {
            // What the bridge does: app errors become a 500 before headers, an abort after.
            try
            {
                handler(request, response);
                response.Complete();
            }
            catch (InvalidResponseException)
            {
                response.SetResponse("500 Internal Server Error", [new("Content-Type", "text/plain")]);
                response.Write("Internal Server Error"u8);
                response.Complete();
            }
            catch (IOException)
            {
                response.Abort();
            }
        }

        public void Dispose()
        {
        }
    }

    /// <summary>An app that answers 200 with the body "ok".</summary>
    public static void Ok(WsgiRequest request, IResponseSink response)
    {
        response.SetResponse("200 OK", [new("Content-Length", "2")]);
        response.Write("ok"u8);
    }

    public static string ReadBody(RequestBody body)
    {
        var ms = new MemoryStream();
        var buffer = new byte[1000];
        int n;
        while ((n = body.Read(buffer)) > 0)
        {
            ms.Write(buffer, 0, n);
        }

        return Encoding.Latin1.GetString(ms.ToArray());
    }
}
