"""A child process that ends with its parent, however the parent ends (no Qt here).

A worker's child process (training, for instance) must not outlive the window that started
it: when the window is killed (SIGKILL, SIGTERM, a crash) nothing in it runs to stop the
child, and a child busy loading data or fitting sends nothing through its pipe, so it
would not notice the broken pipe either. `end_with_parent` arranges two things:

- on Linux, ``prctl(PR_SET_PDEATHSIG, SIGTERM)``: the kernel sends SIGTERM to the child
  the moment the thread that started it exits (the worker's thread lives as long as the
  child does), with no help from the parent;
- everywhere, a daemon thread waiting on the parent's sentinel (multiprocessing's
  ``parent_process().sentinel``, readable once the parent is gone) or, without one, polling
  the parent's process id; when the parent is gone it calls ``on_parent_gone`` (e.g. set
  the cancel flag), waits ``grace_s`` for the work to stop by itself, then ends the process.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Callable

PR_SET_PDEATHSIG = 1   # from <linux/prctl.h>
POLL_S = 0.5           # how often the fallback looks at the parent's process id


def end_with_parent(parent_pid: int | None = None, *, sentinel: int | None = None,
                    on_parent_gone: Callable[[], None] | None = None, grace_s: float = 3.0,
                    use_prctl: bool = True) -> None:
    """Make this process end when its parent ends.

    Parameters
    ----------
    parent_pid : int, optional
        The parent's process id (default: the current parent, ``os.getppid()``; in a
        multiprocessing child, its ``parent_process().pid``).
    sentinel : int, optional
        A handle that becomes ready when the parent ends (default: multiprocessing's parent
        sentinel when this is a multiprocessing child, else None: poll ``os.getppid()``).
    on_parent_gone : callable, optional
        Called (on the watching thread) once the parent is gone, before the grace period.
    grace_s : float
        Seconds the work gets to stop by itself after ``on_parent_gone`` before the process
        exits (exit code 1).
    use_prctl : bool
        Ask the Linux kernel to send SIGTERM at the parent's death (ignored elsewhere).
    """
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent_pid is None:
        parent_pid = parent.pid if parent is not None and parent.pid else os.getppid()
    if sentinel is None and parent is not None:
        sentinel = parent.sentinel
    if use_prctl:
        _set_pdeathsig(signal.SIGTERM)
    if not _alive(parent_pid):   # the parent died before the signal was asked for
        _gone(on_parent_gone, 0.0)
        return
    thread = threading.Thread(target=_watch, args=(parent_pid, sentinel, on_parent_gone, grace_s),
                              name="neurodeck-parent-watch", daemon=True)
    thread.start()


def _set_pdeathsig(signum: int) -> bool:
    """``prctl(PR_SET_PDEATHSIG, signum)`` on Linux; False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _alive(pid: int) -> bool:
    """Whether ``pid`` is still this process's parent (a re-parented child sees another)."""
    return os.getppid() == pid


def _watch(parent_pid: int, sentinel, on_parent_gone, grace_s: float) -> None:
    if sentinel is not None:
        from multiprocessing.connection import wait

        try:
            wait([sentinel])
        except OSError:   # not waitable here: poll instead
            sentinel = None
    if sentinel is None:
        while _alive(parent_pid):
            time.sleep(POLL_S)
    _gone(on_parent_gone, grace_s)


def _gone(on_parent_gone, grace_s: float) -> None:
    if on_parent_gone is not None:
        try:
            on_parent_gone()
        except Exception:  # noqa: BLE001 - ending the process matters more
            pass
        time.sleep(grace_s)
    os._exit(1)
