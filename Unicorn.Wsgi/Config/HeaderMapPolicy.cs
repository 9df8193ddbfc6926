namespace Unicorn.Wsgi.Config;

/// <summary>
/// What to do with a header whose name contains '_' (Gunicorn's <c>header_map</c>): such names map to the
/// same environ key as their '-' twin, which lets a client smuggle a value past a proxy.
/// </summary>
public enum HeaderMapPolicy
{
    /// <summary>Silently leave the field out of the request (Gunicorn's default).</summary>
    Drop,

    /// <summary>Reject the request with 400 InvalidHeaderName.</summary>
    Refuse,

    /// <summary>Keep the field (Gunicorn's old, ambiguous behaviour).</summary>
    Dangerous,
}
