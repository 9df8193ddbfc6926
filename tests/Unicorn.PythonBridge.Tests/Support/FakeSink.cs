using Microsoft.Win32.SafeHandles;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge.Tests.Support;

/// <summary>An in-memory response: records what the bridge sends, can fail like a vanished client.</summary>
public sealed class FakeSink : IResponseSink
{
    private readonly MemoryStream _body = new();

    public bool HeadersSent { get; private set; }

    public string? Status { get; private set; }

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; private set; } = [];

    public int SetResponseCalls { get; private set; }

    public int Writes { get; private set; }

    public int Flushes { get; private set; }

    public bool Completed { get; private set; }

    public bool Aborted { get; private set; }

    public int SendFileCalls { get; private set; }

    /// <summary>Throw IOException on this write (1-based), as a socket does when the client is gone.</summary>
    public int FailOnWrite { get; init; }

    /// <summary>What a failing write throws instead of the IOException (an OutOfMemoryException under a heap limit).</summary>
    public Func<Exception>? FailWith { get; init; }

    /// <summary>Whether TrySendFile works (else the bridge falls back to Write).</summary>
    public bool CanSendFile { get; init; }

    /// <summary>Reject header names/values with CR, LF or an empty name, as the server does.</summary>
    public bool Validate { get; init; } = true;

    /// <summary>Threads the Write calls ran on, with whether the GIL was held.</summary>
    public List<bool> GilHeldDuringWrite { get; } = [];

    public Func<bool>? GilProbe { get; init; }

    /// <summary>What TryCompleteNow answers (null: Unsupported, as a sink without a non-blocking path).</summary>
    public ImmediateResponse? Immediate { get; init; }

    public int ImmediateCalls { get; private set; }

    /// <summary>Whether the GIL was held in TryCompleteNow, then in each Flush.</summary>
    public List<bool> GilHeldDuringImmediate { get; } = [];

    public List<bool> GilHeldDuringFlush { get; } = [];

    public byte[] Body => _body.ToArray();

    public string BodyText => System.Text.Encoding.Latin1.GetString(Body);

    public string? Header(string name) =>
        Headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    public void SetResponse(string status, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        if (HeadersSent)
        {
            throw new InvalidOperationException("headers already sent");
        }

        if (Validate)
        {
            if (status.Length < 3 || !char.IsAsciiDigit(status[0]) || status.Contains('\n', StringComparison.Ordinal))
            {
                throw new InvalidResponseException($"Invalid status {status}");
            }

            foreach (var (name, value) in headers)
            {
                if (name.Length == 0 || name.AsSpan().IndexOfAny("\r\n: ") >= 0 || value.AsSpan().IndexOfAny('\r', '\n') >= 0)
                {
                    throw new InvalidResponseException($"Invalid header {name}");
                }
            }
        }

        SetResponseCalls++;
        Status = status;
        Headers = headers.ToArray();
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        Writes++;
        if (GilProbe is not null)
        {
            GilHeldDuringWrite.Add(GilProbe());
        }

        if (FailOnWrite > 0 && Writes >= FailOnWrite)
        {
            throw FailWith?.Invoke() ?? new IOException("Connection reset by peer");
        }

        if (Status is null)
        {
            throw new InvalidOperationException("Write before SetResponse");
        }

        HeadersSent = true;
        _body.Write(data);
    }

    /// <summary>Each flush: when (Stopwatch ticks, CLOCK_MONOTONIC as Python's time.monotonic) and the body's length then.</summary>
    public List<(long Ticks, int Length)> FlushLog { get; } = [];

    /// <summary>Throw IOException on this flush (1-based), as a socket does when the client is gone.</summary>
    public int FailOnFlush { get; init; }

    public void Flush()
    {
        Flushes++;
        FlushLog.Add((System.Diagnostics.Stopwatch.GetTimestamp(), (int)_body.Length));
        if (FailOnFlush > 0 && Flushes >= FailOnFlush)
        {
            throw new IOException("Connection reset by peer");
        }

        if (GilProbe is not null)
        {
            GilHeldDuringFlush.Add(GilProbe());
        }
    }

    public ImmediateResponse TryCompleteNow(ReadOnlySpan<byte> body)
    {
        if (Immediate is not { } answer)
        {
            return ImmediateResponse.Unsupported;
        }

        ImmediateCalls++;
        if (GilProbe is not null)
        {
            GilHeldDuringImmediate.Add(GilProbe());
        }

        if (Status is null)
        {
            throw new InvalidOperationException("TryCompleteNow before SetResponse");
        }

        HeadersSent = true;
        _body.Write(body);
        Completed = true;
        return answer;
    }

    public bool TrySendFile(SafeFileHandle file, long offset, long count)
    {
        SendFileCalls++;
        if (!CanSendFile)
        {
            return false;
        }

        HeadersSent = true;
        var buffer = new byte[count];
        var n = RandomAccess.Read(file, buffer, offset);
        _body.Write(buffer, 0, n);
        return true;
    }

    public void Complete()
    {
        if (Status is null)
        {
            throw new InvalidOperationException("Complete before SetResponse");
        }

        HeadersSent = true;
        Completed = true;
    }

    public void Abort() => Aborted = true;
}
