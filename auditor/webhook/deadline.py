"""Bounding the time one evaluation may take.

Two ways, one contract: ``await runner.run(func, arg)`` returns ``func(arg)`` or raises
:class:`DeadlineExceeded` once ``seconds`` have passed.

* :class:`AlarmRunner` (the server's own process, event loop in the main thread): the
  evaluation runs on the loop's thread under a ``SIGALRM`` interval timer whose handler
  raises in the evaluating code. The deadline is preemptive (pure-Python evaluation is
  interrupted, not abandoned), and no thread hand-off or GIL ping-pong is paid per
  request, which is most of a request's cost otherwise. The loop does not serve other
  requests meanwhile; with the GIL it could not evaluate two at once anyway.
* :class:`ThreadRunner` (anywhere else, e.g. a server in a thread): a worker thread under
  ``asyncio.wait_for``. Past the deadline the answer is given and the evaluation is left
  to finish in its thread (a thread cannot be stopped); the pool is bounded.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """The evaluation did not finish in time."""


class ThreadRunner:
    kind = "thread"

    def __init__(self, seconds: float, workers: int) -> None:
        self.seconds = seconds
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="kube-auditor-eval")

    async def run(self, func: Callable[[Any], T], arg: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(self.pool, func, arg), self.seconds)
        except asyncio.TimeoutError:
            raise DeadlineExceeded from None

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class AlarmRunner:
    kind = "alarm"

    def __init__(self, seconds: float) -> None:
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("SIGALRM deadlines need the main thread")
        self.seconds = seconds
        self._armed = False
        self._previous = signal.signal(signal.SIGALRM, self._fire)

    def _fire(self, signum: int, frame: Any) -> None:
        if self._armed:
            self._armed = False
            raise DeadlineExceeded

    async def run(self, func: Callable[[Any], T], arg: Any) -> T:
        self._armed = True
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        try:
            return func(arg)
        finally:
            # Disarm first: an alarm landing between the two lines is then ignored.
            self._armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)

    def close(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._previous)


def runner_for(seconds: float, workers: int, isolation: str = "auto") -> AlarmRunner | ThreadRunner:
    """The alarm runner on the main thread (unless ``isolation`` is ``thread``), else threads."""
    if isolation != "thread" and threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return AlarmRunner(seconds)
    return ThreadRunner(seconds, workers)
