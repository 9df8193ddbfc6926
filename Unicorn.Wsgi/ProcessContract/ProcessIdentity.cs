using System.Globalization;
using Unicorn.Wsgi.Interop;

namespace Unicorn.Wsgi.ProcessContract;

/// <summary>
/// -u/--user, -g/--group and --initgroups: names or numbers resolved once (an unknown name is a
/// one-line error), applied in each worker before the app is imported, as Gunicorn's workers do.
/// </summary>
public sealed record ProcessIdentity(uint? Uid, uint? Gid, string? UserName)
{
    public static ProcessIdentity Resolve(ProcessSettings config)
    {
        ArgumentNullException.ThrowIfNull(config);
        uint? uid = null;
        uint? gid = null;
        string? userName = null;
        if (config.User is { } user)
        {
            if (uint.TryParse(user, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                uid = id;
                userName = Libc.TryGetUserName(id, out var name, out _) ? name : null;
            }
            else if (Libc.TryGetUser(user, out var found, out _))
            {
                uid = found;
                userName = user;
            }
            else
            {
                throw new ArbiterException($"Error: No such user: '{user}'");
            }
        }

        if (config.Group is { } group)
        {
            if (uint.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                gid = id;
            }
            else if (Libc.TryGetGroup(group, out var found))
            {
                gid = found;
            }
            else
            {
                throw new ArbiterException($"Error: No such group: '{group}'");
            }
        }

        return new ProcessIdentity(uid, gid, userName);
    }

    /// <summary>Drops to the configured group and user (group first, while still privileged).</summary>
    public void Apply(bool initGroups)
    {
        var changeUid = Uid is { } u && u != Libc.geteuid();
        if (Gid is { } g && g != Libc.getgid())
        {
            Check(Libc.setgid(g), "setgid", g);
        }

        if (initGroups && UserName is { } name)
        {
            Check(Libc.initgroups(name, Gid ?? Libc.getgid()), "initgroups", Gid ?? 0);
        }

        if (changeUid)
        {
            Check(Libc.setuid(Uid!.Value), "setuid", Uid.Value);
        }
    }

    private static void Check(int rc, string call, uint id)
    {
        if (rc != 0)
        {
            throw new ArbiterException($"Error: {call}({id}) failed: {Libc.StrError(Libc.Errno)}");
        }
    }
}
