"""Start and stop server processes so that none outlives the test session.

Why this much care: a leaked etcd or kube-apiserver keeps ports and gigabytes
of memory and makes the next run fail in confusing ways. So every child:

* runs in its own session / process group (``start_new_session``), so a stop
  signals the whole group, and Ctrl-C in the terminal does not race us;
* gets ``PR_SET_PDEATHSIG=SIGKILL`` on Linux, so it dies even if the Python
  process is killed with SIGKILL and no Python code gets to run;
* is tracked in a registry that an ``atexit`` hook and a SIGTERM/SIGHUP handler
  drain, for the cases where Python exits without running fixture teardown.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import signal
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

#: Seconds between SIGTERM and SIGKILL when stopping a process group.
STOP_GRACE_SECONDS = 10.0

_live: dict[int, subprocess.Popen] = {}
_lock = threading.Lock()
_handlers_installed = False


def _pdeathsig_preexec():
    """Return a preexec function setting PR_SET_PDEATHSIG, or None where unsupported."""
    if os.uname().sysname != "Linux":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:  # runs in the child between fork and exec
        prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)

    return preexec


_PREEXEC = _pdeathsig_preexec()


def start(argv: Sequence[str], log_path: Path, cwd: Path) -> subprocess.Popen:
    """Start ``argv`` in a new process group with stdout+stderr written to ``log_path``.

    Call from the main thread: PR_SET_PDEATHSIG fires when the *thread* that
    started the child exits.
    """
    _install_handlers()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_PREEXEC,  # noqa: PLW1509 - only calls prctl(2), resolved before fork
            close_fds=True,
        )
    with _lock:
        _live[proc.pid] = proc
    return proc


def stop(proc: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> int:
    """SIGTERM the process group, SIGKILL it after ``grace`` seconds; reap and return the exit code.

    An exit code of ``-SIGKILL`` means the process ignored SIGTERM for ``grace`` seconds.
    """
    try:
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # Also reaches any stragglers left in the group after the leader exited.
        _signal_group(proc.pid, signal.SIGKILL)
        return proc.wait()
    finally:
        with _lock:
            _live.pop(proc.pid, None)


def group_alive(pgid: int) -> bool:
    """True while any process of the process group ``pgid`` exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_all() -> None:
    """Stop every process started here that is still tracked (atexit / signal path).

    Newest first: kube-apiserver must go before etcd, or etcd waits for the
    API server's open watches and the API server for etcd, until SIGKILL.
    """
    with _lock:
        procs = list(_live.values())[::-1]
    for proc in procs:
        stop(proc, grace=3.0)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _on_fatal_signal(signum, frame) -> None:
    """Stop our children, then die of the same signal as if we had no handler."""
    stop_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    """Register the atexit hook, and SIGTERM/SIGHUP handlers unless someone else owns them."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(stop_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, _on_fatal_signal)
