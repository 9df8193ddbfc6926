using Microsoft.Win32.SafeHandles;
using Unicorn.PythonBridge.Native;
using Unicorn.Wsgi.Application;

namespace Unicorn.PythonBridge;

internal sealed unsafe partial class PythonWsgiThread
{
    private const int FileBlockSize = 65536;

    /// <summary>wsgi.file_wrapper over a regular file: sendfile through the sink, else pread blocks. Null: iterate it instead.</summary>
    private Outcome? TrySendFile(nint wrapper)
    {
        var args = stackalloc nint[1] { wrapper };
        var span = CPython.PyObject_Vectorcall(_app.FileSpan, args, 1, 0);
        if (span == 0)
        {
            return Outcome.PythonError;
        }

        try
        {
            if (span == CPython.Py_None)
            {
                return null;
            }

            var fd = CPython.PyLong_AsLongLong(CPython.PyTuple_GetItem(span, 0));
            var offset = CPython.PyLong_AsLongLong(CPython.PyTuple_GetItem(span, 1));
            var count = CPython.PyLong_AsLongLong(CPython.PyTuple_GetItem(span, 2));
            if (CPython.PyErr_Occurred() != 0)
            {
                return Outcome.PythonError;
            }

            var ready = ReadyForBody();
            if (ready != Outcome.Done)
            {
                return ready;
            }

            if (_contentLength >= 0)
            {
                count = Math.Min(count, _contentLength);
            }

            // The wrapper (held by the caller) keeps the file open while the GIL is released.
            ReleaseGil();
            try
            {
                using var handle = new SafeFileHandle((nint)fd, ownsHandle: false);
                if (count > 0 && !_sink!.TrySendFile(handle, offset, count))
                {
                    CopyFile(handle, offset, count);
                }

                _sink!.Complete();
                return Outcome.Done;
            }
            catch (Exception e) when (e is IOException or InvalidResponseException)
            {
                return SinkFailed(e);
            }
            finally
            {
                AcquireGil();
            }
        }
        finally
        {
            CPython.Py_DecRef(span);
        }
    }

    private void CopyFile(SafeFileHandle handle, long offset, long count)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(FileBlockSize);
        try
        {
            while (count > 0)
            {
                var n = RandomAccess.Read(handle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, count)), offset);
                if (n == 0)
                {
                    break; // the file shrank
                }

                _sink!.Write(buffer.AsSpan(0, n));
                offset += n;
                count -= n;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
