"""Waiting on Ray work outside Tune in a way a Ctrl-C interrupts.

With Ray 2.60, a SIGINT that reaches the driver while it blocks in ``ray.get`` or ``ray.wait`` is lost: the call
returns normally once the work is done and no ``KeyboardInterrupt`` is ever raised (measured: a 25 s task, SIGINT
to the driver after 3 s, ``ray.get`` returned after 25 s; the same with ``ray.wait`` polled every second, and with
Python's handler reinstalled after ``ray.init``). So a Ctrl-C during a search's calibration, zero-cost screening
on the cluster or supernet training was swallowed. Here the driver polls with a short timeout under a SIGINT handler
that only records the signal, and raises ``KeyboardInterrupt`` itself after the poll (the CLI turns it into one
line, exit status 2). Tune's own trial loop handles Ctrl-C and does not go through this.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator, List, Optional, Sequence, Tuple

#: Seconds between polls: how late a Ctrl-C is noticed at most.
POLL_S = 0.5


@contextlib.contextmanager
def _recorded_sigint() -> Iterator[Optional[List[int]]]:
    """SIGINTs recorded (not raised) while inside; ``None`` off the main thread, where Python cannot set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield None
        return
    received: List[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, previous)


def wait_ready(refs: Sequence[Any], num_returns: int = 1) -> Tuple[List[Any], List[Any]]:
    """``ray.wait(refs, num_returns)`` that raises ``KeyboardInterrupt`` within :data:`POLL_S` of a Ctrl-C."""
    import ray
    with _recorded_sigint() as received:
        while True:
            ready, rest = ray.wait(list(refs), num_returns=num_returns, timeout=POLL_S)
            if received:
                raise KeyboardInterrupt
            if len(ready) >= num_returns:
                return ready, rest


def get_all(refs: Sequence[Any]) -> List[Any]:
    """``ray.get(refs)`` that raises ``KeyboardInterrupt`` within :data:`POLL_S` of a Ctrl-C."""
    import ray
    wait_ready(refs, num_returns=len(refs))
    return ray.get(list(refs))
