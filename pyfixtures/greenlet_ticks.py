"""Counters that threads started outside any request keep ticking (greenlet_background.py and its test's hooks)."""
import threading
import time

ticks = {"import_thread": 0, "post_fork_thread": 0, "post_worker_init_thread": 0}


def tick(key):
    while True:
        ticks[key] += 1
        time.sleep(0.05)  # cooperative once patched


def start(key):
    threading.Thread(target=tick, args=(key,), daemon=True).start()
