using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Unicorn.Wsgi.Transport.Listeners;

/// <summary>
/// A bound, listening socket the master owns and workers inherit by fd number. Knows how Gunicorn
/// prints it (<c>http://127.0.0.1:8000</c>, <c>unix:/run/app.sock</c>) and whether closing it should
/// unlink a socket file.
/// </summary>
public sealed class Listener : IDisposable
{
    public Listener(Socket socket, string? unixPath = null, bool isSsl = false)
    {
        Socket = socket;
        UnixPath = unixPath;
        IsSsl = isSsl;
    }

    public Socket Socket { get; }

    /// <summary>The socket file of a unix listener this process created (unlinked on close), else null.</summary>
    public string? UnixPath { get; }

    public bool IsSsl { get; }

    /// <summary>A unix socket's path as the bind gave it (maybe relative), which Gunicorn prints; null: <see cref="UnixPath"/>.</summary>
    public string? BoundAs { get; init; }

    public int Fd => (int)Socket.SafeHandle.DangerousGetHandle();

    public override string ToString()
    {
        switch (Socket.LocalEndPoint)
        {
            case IPEndPoint { AddressFamily: AddressFamily.InterNetworkV6 } v6:
                return string.Create(CultureInfo.InvariantCulture, $"{Scheme}://[{v6.Address}]:{v6.Port}");
            case IPEndPoint v4:
                return string.Create(CultureInfo.InvariantCulture, $"{Scheme}://{v4.Address}:{v4.Port}");
            case UnixDomainSocketEndPoint unix:
                return "unix:" + (BoundAs ?? UnixPath ?? unix.ToString());
            default:
                return string.Create(CultureInfo.InvariantCulture, $"<socket {Fd}>");
        }
    }

    private string Scheme => IsSsl ? "https" : "http";

    /// <summary>Closes the socket; with <paramref name="unlink"/>, also removes its socket file.</summary>
    public void Close(bool unlink)
    {
        Socket.Dispose();
        if (unlink && UnixPath is not null)
        {
            try
            {
                File.Delete(UnixPath);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    public void Dispose() => Close(unlink: false);
}
