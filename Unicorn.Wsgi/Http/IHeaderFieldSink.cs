namespace Unicorn.Wsgi.Http;

/// <summary>Receives each header or trailer field that passed the syntax checks, in order.</summary>
internal interface IHeaderFieldSink
{
    /// <summary>name: a token as sent; value: trimmed, folded lines joined by one space, free of controls.</summary>
    void OnField(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);
}
