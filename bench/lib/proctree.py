"""Probes a server's whole process tree (the given pid and all its descendants) for bench/run.

  proctree.py cpu PID   -> CPU seconds: utime+stime (+ reaped children's cutime+cstime) summed over the tree
  proctree.py mem PID   -> "PSS_KIB RSS_KIB PROCESSES" summed from /proc/N/smaps_rollup over the tree
  proctree.py pids PID  -> the tree's pids, one a line (for cleanup)
  proctree.py run FILE CMD...  -> runs CMD (its output passed through, its exit status returned) and writes
                        the CPU seconds CMD and its descendants used (utime+stime) to FILE: the load
                        generator's own cost, which shares the cores with the server
"""

import os
import resource
import subprocess
import sys

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    # The command name may contain spaces and parentheses; fields resume after the last ')'.
    return stat[stat.rindex(")") + 2:].split()


def tree(root):
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            ppid = int(_stat_fields(name)[1])
        except (OSError, ValueError, IndexError):
            continue  # exited while we looked
        children.setdefault(ppid, []).append(int(name))
    if not os.path.exists(f"/proc/{root}"):
        return []
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(root):
    ticks = 0
    for pid in tree(root):
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        # utime, stime, cutime, cstime: a worker reaped mid-run moves its time into the master's cutime.
        ticks += sum(int(x) for x in fields[11:15])
    return ticks / CLK_TCK


def memory(root):
    pss = rss = count = 0
    for pid in tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
        except OSError:
            continue
        count += 1
    return pss, rss, count


def run(out, cmd):
    code = subprocess.call(cmd)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, "w") as f:
        f.write(f"{usage.ru_utime + usage.ru_stime:.2f}\n")
    return code


def main(argv):
    if len(argv) >= 4 and argv[1] == "run":
        sys.exit(run(argv[2], argv[3:]))
    if len(argv) != 3 or argv[1] not in ("cpu", "mem", "pids"):
        sys.exit(__doc__)
    what, root = argv[1], int(argv[2])
    if what == "cpu":
        if not tree(root):
            sys.exit(f"proctree: no process {root}")
        print(f"{cpu_seconds(root):.2f}")
    elif what == "mem":
        print("%d %d %d" % memory(root))
    else:
        print("\n".join(str(p) for p in tree(root)))


if __name__ == "__main__":
    main(sys.argv)
