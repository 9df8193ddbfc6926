import time


def worker_exit(server, worker):
    # A worker that cannot finish leaving before graceful_timeout: only the master's SIGKILL ends it.
    time.sleep(30)
