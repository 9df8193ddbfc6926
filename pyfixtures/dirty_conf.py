"""The four dirty hooks, each logging a line the dirty arbiter tests wait for."""


def on_dirty_starting(arbiter):
    arbiter.log.info("hook: on_dirty_starting (arbiter %s)", arbiter.pid)


def dirty_post_fork(arbiter, worker):
    worker.log.info("hook: dirty_post_fork (worker %s)", worker.pid)


def dirty_worker_init(worker):
    worker.log.info("hook: dirty_worker_init (worker %s, apps %s)", worker.pid, ",".join(sorted(worker.apps)))


def dirty_worker_exit(arbiter, worker):
    arbiter.log.info("hook: dirty_worker_exit (worker %s)", worker.pid)
