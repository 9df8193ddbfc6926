"""Work an app and its worker hooks start outside any request, as libraries do (a QueueListener's thread, an
exporter's sender): under gevent and eventlet, once monkey-patched, each thread is a greenlet of the hub of the thread
that started it. GreenletWorkerTests counts that each keeps running while the worker serves (its config's hooks start
the post_fork and post_worker_init threads; the counters are greenlet_ticks.py's)."""
import logging
import logging.handlers
import queue
import time

from pyfixtures.greenlet_ticks import start, ticks

logged = []


class _Remember(logging.Handler):
    def emit(self, record):
        logged.append(record.getMessage())


# The standard library's recipe: the app logs into a queue, a listener thread writes the records out.
_queue = queue.Queue()
_listener = logging.handlers.QueueListener(_queue, _Remember())
_listener.start()
_log = logging.getLogger("greenlet_background")
_log.setLevel(logging.INFO)
_log.addHandler(logging.handlers.QueueHandler(_queue))
start("import_thread")


def app(environ, start_response):
    _log.info("request %s", environ["PATH_INFO"])
    time.sleep(0.3)  # the listener's turn
    body = ("%s %s" % (sorted(ticks.items()), logged[-1:])).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
