"""The PasteDeploy server runner `egg:unicorn-server#main`, as Gunicorn's `egg:gunicorn#main` (gunicorn.app.pasterapp:serve).

An ini whose [server:main] says `use = egg:unicorn-server#main` is served by `pserve development.ini` (Pyramid's usual way
to start an app) as it is by `unicorn --paste development.ini`. The master is another program, so pserve's process
execs it (pid kept, as BaseApplication.run() does) with `--paste INI`: the workers load the ini's [app:main] again
(the object pserve loaded stays in pserve), and the ini's [server:main] supplies host/port, `config` and the other
settings, as under `unicorn --paste`.
"""
import os
import sys

from unicorn_server.app.base import _server_environment, server_program


def serve(app, global_conf, **local_conf):
    """paste.server_runner: execs the unicorn program serving global_conf's ini (see the module docstring)."""
    config_file = os.path.abspath(global_conf["__file__"])
    program = server_program()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(program, [program, "--paste", config_file], _server_environment())
