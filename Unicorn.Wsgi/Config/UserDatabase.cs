using System.Runtime.InteropServices;

namespace Unicorn.Wsgi.Config;

/// <summary>
/// The few libc calls the <c>user</c> and <c>group</c> validators need (pwd.h, grp.h, unistd.h). Names go through
/// NSS (<c>getpwnam</c>), as in Gunicorn, so LDAP and sssd users resolve too.
/// </summary>
internal static partial class UserDatabase
{
    // struct passwd { char *pw_name; char *pw_passwd; uid_t pw_uid; gid_t pw_gid; ... } and
    // struct group { char *gr_name; char *gr_passwd; gid_t gr_gid; ... }: the id follows two pointers.
    private static readonly int s_idOffset = 2 * IntPtr.Size;

    public static uint EffectiveUserId() => geteuid();

    public static uint EffectiveGroupId() => getegid();

    public static bool TryGetUserId(string name, out uint uid)
    {
        var entry = getpwnam(name);
        uid = entry == IntPtr.Zero ? 0 : (uint)Marshal.ReadInt32(entry, s_idOffset);
        return entry != IntPtr.Zero;
    }

    public static bool TryGetGroupId(string name, out uint gid)
    {
        var entry = getgrnam(name);
        gid = entry == IntPtr.Zero ? 0 : (uint)Marshal.ReadInt32(entry, s_idOffset);
        return entry != IntPtr.Zero;
    }

    [LibraryImport("libc", SetLastError = false)]
    private static partial uint geteuid();

    [LibraryImport("libc", SetLastError = false)]
    private static partial uint getegid();

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr getpwnam(string name);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr getgrnam(string name);
}
