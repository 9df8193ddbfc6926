# A hook that starts a thread which logs through server.log and worker.log after the hook has returned
# (Gunicorn's examples/when_ready.conf.py does this).
import logging
import threading
import time


def when_ready(server):
    logging.getLogger("gunicorn.error").info("master thread tick through gunicorn.error")

    def tick():
        for i in range(3):
            server.log.info("master thread tick %d", i)
            time.sleep(0.3)
    threading.Thread(target=tick, daemon=True).start()


def post_fork(server, worker):
    def tick():
        for i in range(3):
            worker.log.info("worker thread tick %d", i)
            time.sleep(0.3)
    threading.Thread(target=tick, daemon=True).start()
