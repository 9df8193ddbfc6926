"""The hub of Unicorn's greenlet workers (-k gevent, -k eventlet).

Loaded as ``_unicorn_greenlet`` in workers of those classes. ``patch`` monkey-patches before the config
file's callables and the app are imported. ``run`` is the hub thread's whole life: it watches the server's
eventfd, starts a greenlet per request and runs the WSGI call there. ``_native`` holds C functions
implemented in C#; none of them blocks or switches greenlets, so every wait happens here, in Python, on the
library's own primitives.
"""

import gc
import json
import os
import sys
import traceback

from _unicorn_bridge import FileWrapper, StreamInput, adopt_main_thread_loop, file_span

_native = None  # set by C# before anything below runs

_ACCEPTED, _WAIT, _GONE = 0, 1, 2
_RESPOND_MAX = 65536  # a list body up to this goes in one respond() call (well under the exchange's wait mark)
# A larger item is handed over in slices of this size (the exchange's wait mark): the server copies each write into
# its own heap, so a 100 MiB item must not be one copy (an OutOfMemoryException under worker_heap_limit).
_WRITE_SLICE = 256 * 1024

# Bound before patching: eventlet greens os.read, and the hub's own read of the eventfd must not yield.
_os_read = os.read

_waits = {}           # request id -> the event its greenlet waits on
_new_event = None     # the library's event type
_set_event = None

# The config file's request hooks (its _UnicornHooks object), run in each request's greenlet as Gunicorn's async
# workers run them; None without pre_request/post_request.
_hooks = None
_pre_request = False
_post_request = False
_HOOK_ERROR = b"Internal Server Error"

# request id -> the greenlet serving it, so a stack dump can say which request a greenlet serves (max_request_time).
_serving = {}


def patch(library):
    """Gunicorn's patching, with Gunicorn's message when the library is missing."""
    if library == "gevent":
        try:
            import gevent  # noqa: F401
        except ImportError:
            raise RuntimeError("gevent worker requires gevent 1.4 or higher") from None
        from gevent import monkey
        monkey.patch_all()
    else:
        try:
            import eventlet
        except ImportError:
            raise RuntimeError("eventlet worker requires eventlet 0.24.1 or higher") from None
        from eventlet import hubs
        hubs.use_hub()
        eventlet.monkey_patch()


def use_hooks(hooks, pre_request, post_request):
    global _hooks, _pre_request, _post_request
    _hooks, _pre_request, _post_request = hooks, pre_request, post_request


def _call_hook(name, req, resp=None, environ=None, gid=None):
    """Runs one request hook here, in the greenlet (it may yield); False when it raised, which is logged.
    What pre_request changed of the request is applied to environ, as Gunicorn builds the environ after it
    (and its access line from that environ)."""
    failure = None
    try:
        rewrite = _hooks.call_request(name, _native.hook_worker(), req, resp, None if name == "pre_request" else environ)
        if rewrite is not None:
            _hooks.rewrite_environ(environ, rewrite)
            _native.hook_rewritten(gid, rewrite)
    except Exception:
        failure = traceback.format_exc()
    if failure is not None:
        _native.log(40, "Exception in %s hook" % name, failure)
    return failure is None


class _ClientGone(Exception):
    pass


def _wait(gid):
    event = _new_event()
    _waits[gid] = event
    event.wait()


class GreenInput(StreamInput):
    """wsgi.input over a body still arriving: a read that has to wait suspends only its greenlet."""

    __slots__ = ()

    def _read(self, n):
        while True:
            data = _native.read(self._token, n)
            if data is not None:
                return data
            _wait(self._token)


class StartResponse:
    """start_response for one greenlet's request (PEP 3333)."""

    __slots__ = ("gid", "status", "headers", "applied", "sent", "failed")

    def __init__(self, gid):
        self.gid = gid
        self.status = None
        self.headers = None
        self.applied = False
        self.sent = 0
        self.failed = False

    def __call__(self, status, headers, exc_info=None):
        if exc_info is not None:
            try:
                if self.status is not None and _native.headers_sent(self.gid):
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response() called a second time without exc_info")
        if not isinstance(status, str):
            raise TypeError("%r is not a string" % (status,))
        if not isinstance(headers, list):
            raise TypeError("headers must be a list, not %s" % type(headers).__name__)
        self.status = status
        self.headers = list(headers)  # taken when called, as Gunicorn does (unicorn_bridge.StartResponse)
        self.applied = False
        return self.write

    def apply(self):
        if not self.applied:
            if self.status is None:
                raise RuntimeError("the application returned a body without calling start_response()")
            _native.start(self.gid, self.status, self.headers)
            self.applied = True

    def sendfile(self, span):
        """A wsgi.file_wrapper over a regular file: the server sends it with sendfile(2), from a dup of its descriptor."""
        fd, offset, count = span
        self.apply()
        for name, value in self.headers:
            if name.lower() == "content-length":
                try:
                    count = min(count, int(value))
                except ValueError:
                    pass
                break
        if count <= 0:
            return
        self.sent += count
        outcome = _native.sendfile(self.gid, os.dup(fd), offset, count)
        if outcome == _WAIT:
            _wait(self.gid)
        elif outcome == _GONE:
            raise _ClientGone()

    def write(self, data):
        if self.status is None:
            raise AssertionError("write() called before start_response()")
        if not isinstance(data, bytes):
            raise _not_bytes(self.gid, data)
        self.apply()
        self.sent += len(data)
        if len(data) > _WRITE_SLICE:
            for i in range(0, len(data), _WRITE_SLICE):
                self._write(data[i:i + _WRITE_SLICE])
        else:
            self._write(data)

    def _write(self, data):
        outcome = _native.write(self.gid, data)
        if outcome == _WAIT:
            _wait(self.gid)
        elif outcome == _GONE:
            raise _ClientGone()


def _handle(app, environ, me):
    """Serves one request on greenlet ``me``; the loop that calls it is the hot path, so nothing here is imported per call."""
    gid = environ.pop("unicorn.id")
    _serving[gid] = me
    try:
        if _hooks is None:
            _serve(app, environ, gid)
        else:
            _handle_hooked(app, environ, gid)
    finally:
        del _serving[gid]


def _handle_hooked(app, environ, gid):
    req = _native.hook_request(gid)
    if _pre_request and not _call_hook("pre_request", req, environ=environ, gid=gid):
        # As the threaded host: a pre_request that raised is a 500, and the app does not run.
        try:
            _native.start(gid, "500 Internal Server Error",
                          [("Content-Type", "text/plain"), ("Content-Length", str(len(_HOOK_ERROR)))])
            _native.write(gid, _HOOK_ERROR)
            _native.finish(gid)
        except Exception:
            _native.abort(gid)
        return
    start_response = _serve(app, environ, gid)
    if _post_request:
        failed = start_response.status is None or start_response.failed
        resp = json.dumps({
            "status": "500 Internal Server Error" if failed and not start_response.applied else start_response.status,
            "headers": [] if failed and not start_response.applied else [list(h) for h in start_response.headers],
            "sent": start_response.sent,
        })
        _call_hook("post_request", req, resp, environ)


def _serve(app, environ, gid):
    if type(environ["wsgi.input"]) is StreamInput:
        environ["wsgi.input"] = GreenInput(gid)
    start_response = StartResponse(gid)
    result = None
    ended = False
    try:
        result = app(environ, start_response)
        span = file_span(result) if type(result) is FileWrapper else None
        if span is not None:
            start_response.sendfile(span)
        elif type(result) is list or type(result) is tuple:
            try:
                body = b"".join(result)
            except TypeError:
                raise _not_bytes(gid, next(i for i in result if not isinstance(i, (bytes, bytearray, memoryview)))) from None
            if start_response.status is not None and not start_response.applied and len(body) <= _RESPOND_MAX:
                # The whole response in one call: head, body and end.
                if _native.respond(gid, start_response.status, start_response.headers, body) == _GONE:
                    raise _ClientGone()
                start_response.applied = True
                start_response.sent = len(body)
                ended = True
                return start_response
            start_response.apply()
            if body:
                start_response.write(body)
        else:
            for data in result:
                if data:
                    start_response.write(data)
                elif not isinstance(data, bytes):
                    raise _not_bytes(gid, data)
            start_response.apply()
        _close(result)
        result = None
        ended = True
        _native.finish(gid)
    except _ClientGone:
        ended = True
        _close(result)
        _native.abort(gid)
    except Exception:
        ended = True
        start_response.failed = True
        tb = traceback.format_exc()
        _close(result)
        _native.fail(gid, tb)
    finally:
        if not ended:
            # Killed (GreenletExit) or exiting: the connection must not wait for a response forever.
            start_response.failed = True
            _native.abort(gid)
    return start_response


def _not_bytes(gid, item):
    # As the threaded hosts: a str body item (Gunicorn's examples/bad.py returns ['ok']) is one line naming it.
    if isinstance(item, str):
        _native.invalid(gid, "body item '%s%s' is a str, not bytes" % (item[:60], "..." if len(item) > 60 else ""))
    return TypeError("%r is not a byte string" % (type(item).__name__,))


def _close(result):
    close = getattr(result, "close", None)
    if close is None or type(result) is list or type(result) is tuple:
        return
    try:
        close()
    except Exception:
        _native.log(40, "Error closing the response iterable\n" + traceback.format_exc())


# Greenlets that finished a request and wait for the next one. A new greenlet per request costs CPython 3.11 a
# fresh 16 KiB frame stack (an mmap and munmap, and its pages faulted in) plus the library's spawn; one reused
# costs a switch. A reused greenlet must look new to the app: before it parks, _renew drops what the finished
# request left on it (greenlet-local values, attributes, its threading.current_thread() stand-in) and the next
# request starts in a fresh contextvars context; a greenlet whose leftovers cannot all be dropped is not parked
# and ends as it would without reuse. Only gevent reuses: eventlet's corolocal keeps each greenlet's values in
# the local objects themselves, out of reach of the server.
# Up to _IDLE_MAX park, so a worker with hundreds of requests in flight (sleep50 at 500 connections: a timer batch
# ends hundreds at once, before the hub takes the requests that follow) reuses them all; once a second the ticker
# ends the ones beyond _IDLE_KEEP that no request needed in that second, so a burst's greenlets do not stay forever.
_IDLE_MAX = 1024
_IDLE_KEEP = 256
_idle = []
_idle_low = 0      # the fewest greenlets parked at once since the last trim
_park = None       # the library's hub.switch: suspends the calling greenlet until something switches to it
_settle = None     # the loop's run_callback: the hub calls the function given on its next turn
_spawn = None      # starts a request greenlet (gevent)
_reuse = False     # set by _run_gevent
_stopping = False
_live = set()      # gevent's greenlets serving or parked, which graceful stop joins (a set, not a link: see _renew)

_LOCAL_KEY = "_gevent_local_localimpl_"  # gevent.local keys its per-greenlet state in greenlet.__dict__ by this
_thread_active = None      # threading._active: gevent registers a greenlet's current_thread() stand-in there
_thread_cleanup = None     # gevent.threading._cleanup, the link that unregisters it when the greenlet ends
_greenlet_ident = None     # gevent.thread.get_ident


def _renew(me, fresh, ident):
    """Drops what a finished request left on its greenlet; False when something stays (then it is not reused)."""
    state = me.__dict__
    if state != fresh:
        for key in [key for key in state if key.startswith(_LOCAL_KEY)]:
            # The value is a weakref to the local's implementation whose callback (run if the local goes away)
            # holds the greenlet-death link that drops this greenlet's values from the local; run it now, as
            # the greenlet's end would, so the next access makes a fresh dict (and runs a subclass's __init__).
            callback = getattr(state.pop(key), "__callback__", None)
            if callback is None:
                return False
            drop = [ref for ref in gc.get_referents(callback) if type(ref).__name__ == "_greenlet_deleted"]
            if len(drop) != 1:
                return False
            drop[0](None)
            me.unlink(drop[0])
        if state != fresh:
            return False  # the app set attributes on getcurrent(): let this greenlet end
    if _thread_active.pop(ident, None) is not None:
        me.unlink(_thread_cleanup)
    # Anything else linked to this greenlet's end (the app's link()) expects it to end now.
    return not me.has_links()


def _serve_many(app, environ):
    from contextvars import Context
    from greenlet import getcurrent
    me = getcurrent()
    fresh = dict(me.__dict__)
    ident = _greenlet_ident(me) if _reuse else None
    # References to this greenlet with no request running. More after _renew means something still holds it (a
    # gevent.Timeout the request started and never cancelled, whose timer would throw into the next request; a
    # structure of the app's): then it is not reused, and ends as it would without reuse.
    alone = sys.getrefcount(me)
    # Its count when _drain hands it the next request, learnt after a park known clean (0 until then). A greenlet
    # that parks with a count above `alone` (often only the hub frame that last switched here, gevent's
    # Waiter.switch after a sleep or a socket wait, still holding its switch) is checked against it then, when that
    # frame is gone; before one is learnt, it lets the hub turn once and counts again before parking.
    resumed = 0
    try:
        while environ is not None:
            _handle(app, environ, me)
            environ = None
            if not _reuse or _stopping or len(_idle) >= _IDLE_MAX or not _renew(me, fresh, ident):
                return
            unsure = sys.getrefcount(me) > alone
            if unsure and not resumed:
                _settle(me.switch)
                _park()
                if _stopping or len(_idle) >= _IDLE_MAX or sys.getrefcount(me) > alone:
                    return
                unsure = False
            _idle.append(me)
            try:
                environ = _park()
            except BaseException:
                if unsure:
                    return  # the holder was a timeout that fired here: end as without reuse, quietly
                raise
            finally:
                if environ is None and me in _idle:
                    _idle.remove(me)  # killed while parked
            if environ is not None:
                count = sys.getrefcount(me)
                if not unsure:
                    resumed = count
                elif count > resumed:
                    # Still held with the hub's frames gone (a gevent.Timeout the request started and never cancelled,
                    # a structure of the app's): the request goes to a new greenlet, and this one ends.
                    _spawn(_serve_many, app, environ)
                    return
            me.gr_context = Context()
    finally:
        _live.discard(me)


def _release_idle():
    while _idle:
        _idle.pop().switch(None)


def _trim_idle():
    """Ends the parked greenlets beyond _IDLE_KEEP that stayed parked for the whole last second (the oldest first)."""
    global _idle_low
    surplus = min(_idle_low, len(_idle) - _IDLE_KEEP)
    if surplus > 0:
        spare = _idle[:surplus]
        del _idle[:surplus]
        for parked in spare:
            parked.switch(None)
    _idle_low = len(_idle)


def _drain(spawn, app, set_stop, kill_running):
    """One wake-up: greenlets whose wait is over, new requests, and whether to stop (2: now)."""
    global _stopping, _idle_low
    stopping = _native.wake()
    while True:
        gid = _native.ready()
        if gid < 0:
            break
        event = _waits.pop(gid, None)
        if event is not None:
            _set_event(event)
    while True:
        environ = _native.take()
        if environ is None:
            break
        if _idle:
            # On the hub (a loop callback): switching runs the request until its greenlet first waits.
            parked = _idle.pop()
            if len(_idle) < _idle_low:
                _idle_low = len(_idle)
            parked.switch(environ)
        else:
            spawn(_serve_many, app, environ)
    if stopping:
        _stopping = True
        _release_idle()
        if stopping == 2:
            # QUIT, or graceful_timeout over: the connections are closed, so a long poll's greenlet is not waited
            # for but ended (GreenletExit runs its finally blocks), as Gunicorn's worker ends them by exiting.
            kill_running()
        set_stop()


def adopt_thread(library):
    """Called on the hub's thread before anything there asks for a hub: gevent's main thread is made this one.

    gevent gives the thread that first imported ``gevent.hub`` (here the worker's boot thread, which patched) the
    default loop, the only one that can watch children, and every other thread's hub a loop of its own. Gunicorn's
    worker runs the hub on that same thread; here the hub runs on another, whose loop could not watch a child, so
    ``subprocess`` (gevent's, once patched) raised a TypeError. Nothing on the boot thread has made a hub (patching
    does not), so the default loop is still free for this thread's.
    """
    if library != "gevent":
        return  # eventlet's hub waits for children without a loop of its own
    import gevent.hub
    from gevent import monkey
    gevent.hub.MAIN_THREAD_IDENT = monkey.get_original("_thread", "get_ident")()
    # Gunicorn imports the app in the main thread's main greenlet, where asyncio.get_event_loop() makes a loop (code
    # that keeps a loop at module level): so does this thread's main greenlet (patched get_ident is the greenlet's),
    # and a request's greenlet gets none, as there. Under eventlet Gunicorn's raises too (its green current_thread()
    # is not the main thread).
    adopt_main_thread_loop()


def run(app, fd, library):
    if library == "gevent":
        _run_gevent(app, fd)
    else:
        _run_eventlet(app, fd)


def _read_fd(fd):
    try:
        _os_read(fd, 8)
    except BlockingIOError:
        pass


def _run_gevent(app, fd):
    global _new_event, _set_event, _park, _settle, _spawn, _reuse, _thread_active, _thread_cleanup, _greenlet_ident
    import threading
    import gevent
    import gevent.thread
    import gevent.threading
    from gevent.event import Event

    _new_event = Event
    _set_event = Event.set
    hub = gevent.get_hub()
    _park = hub.switch
    _settle = hub.loop.run_callback
    _thread_active = threading._active
    _thread_cleanup = gevent.threading._cleanup
    _greenlet_ident = gevent.thread.get_ident
    _reuse = True
    stop = Event()

    def spawn(function, *args):
        _live.add(gevent.spawn(function, *args))

    _spawn = spawn

    def kill_running():
        gevent.killall(list(_live), block=False)

    def on_wake():
        _read_fd(fd)
        _drain(spawn, app, stop.set, kill_running)

    def on_tick():
        _trim_idle()
        on_wake()

    watcher = hub.loop.io(fd, 1)
    watcher.start(on_wake)
    ticker = hub.loop.timer(1.0, 1.0)
    ticker.start(on_tick)
    try:
        stop.wait()
        while _live:
            gevent.joinall(list(_live))
    finally:
        ticker.stop()
        watcher.stop()


def _run_eventlet(app, fd):
    global _new_event, _set_event
    import eventlet
    import eventlet.event
    from eventlet import greenpool, hubs

    _new_event = eventlet.event.Event
    _set_event = eventlet.event.Event.send
    hub = hubs.get_hub()
    pool = greenpool.GreenPool(sys.maxsize)
    stop = eventlet.event.Event()

    def set_stop():
        if not stop.ready():
            stop.send(None)

    def kill_running():
        for running in list(pool.coroutines_running):
            running.kill()

    def on_wake(_fileno=None):
        _read_fd(fd)
        # spawn, not spawn_n: a GreenThread gets its own threading.current_thread(), a raw greenlet shares the
        # OS thread's with every other request (Gunicorn's eventlet worker spawns GreenThreads too).
        _drain(pool.spawn, app, set_stop, kill_running)

    def tick():
        on_wake()
        timers[0] = hub.schedule_call_global(1.0, tick)

    listener = hub.add(hub.READ, fd, on_wake, lambda *args: None, lambda *args: None)
    timers = [hub.schedule_call_global(1.0, tick)]
    try:
        stop.wait()
        pool.waitall()
    finally:
        timers[0].cancel()
        hub.remove(listener)


def stacks():
    """Every suspended greenlet's stack (the running ones are in the threads' dump), a request's labelled with its id."""
    import gc
    try:
        from greenlet import greenlet
    except ImportError:
        return ""
    requests = {id(g): gid for gid, g in list(_serving.items())}
    out = []
    for obj in gc.get_objects():
        if isinstance(obj, greenlet) and obj.gr_frame is not None:
            gid = requests.get(id(obj))
            if gid is not None:
                name = "Greenlet of request %d (%s at 0x%x)" % (gid, type(obj).__name__, id(obj))
            else:
                name = "Greenlet %s at 0x%x" % (type(obj).__name__, id(obj))
            out.append("%s (most recent call last):\n%s" % (name, "".join(traceback.format_stack(obj.gr_frame))))
    return "\n".join(out)
