#!/usr/bin/env python3
"""Runs a command as a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so
that what its daemons leave behind (slurmstepd detaches from slurmd, munged
and the Slurm daemons may fork) is re-parented here rather than to PID 1,
and is reaped, or killed and reaped, when the command is done: nothing the
test started outlives it, whatever its own cleanup missed.

    subreaper.py COMMAND ARG...     (exit status: the command's)"""
import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    print("subreaper.py: prctl failed; orphans go to PID 1", file=sys.stderr)


def children():
    """The processes whose parent is this one (the command, and orphans)."""
    mine = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # After the command's name in parentheses: state, then the parent's id.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            mine.append(int(entry))
    return mine


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


child = subprocess.Popen(sys.argv[1:])
# A TERM or INT for this test goes to the command, whose trap cleans up.
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda s, _: child.send_signal(s))
status = child.wait()
reap()
for sig in (signal.SIGTERM, signal.SIGKILL):
    left = children()
    if not left:
        break
    print(f"subreaper.py: {'stopping' if sig == signal.SIGTERM else 'killing'} what was left: "
          f"{left}", file=sys.stderr)
    for pid in left:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    for _ in range(50):
        reap()
        if not children():
            break
        time.sleep(0.1)
reap()
sys.exit(status if status >= 0 else 128 - status)
