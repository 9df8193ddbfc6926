"""The four dirty hooks, each logging a line the dirty arbiter tests wait for. They read the settings as Gunicorn
26.1's examples do (examples/celery_alternative/gunicorn_conf.py): arbiter.cfg.dirty_apps, worker.cfg.<setting>."""


def on_dirty_starting(arbiter):
    arbiter.log.info("hook: on_dirty_starting (arbiter %s, apps %s, workers %s)", arbiter.pid,
                     list(arbiter.cfg.dirty_apps), arbiter.cfg.dirty_workers)


def dirty_post_fork(arbiter, worker):
    worker.log.info("hook: dirty_post_fork (worker %s, timeout %s)", worker.pid, worker.cfg.dirty_timeout)


def dirty_worker_init(worker):
    worker.log.info("hook: dirty_worker_init (worker %s, apps %s)", worker.pid, ",".join(sorted(worker.apps)))


def dirty_worker_exit(arbiter, worker):
    arbiter.log.info("hook: dirty_worker_exit (worker %s)", worker.pid)
