import sys


def worker_exit(server, worker):
    print("hook: worker_exit %d" % worker.pid, file=sys.stderr, flush=True)
