"""Waiting in tests: poll a condition until a deadline, never sleep a guessed duration.

A loaded machine makes every duration a guess; a condition is what the test means. On a timeout the failure says
what was awaited and the condition's last value, which is usually the clue to why it never held.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, timeout: float, what: str, interval: float = 0.2) -> T:
    """Call ``condition`` until it returns a true value, and return that value.

    Parameters
    ----------
    condition : callable
        Called with no argument; a true result ends the wait.
    timeout : float
        Seconds before the wait fails.
    what : str
        What is awaited, for the failure message ("the training saved two epochs").
    interval : float
        Seconds between two calls.

    Raises
    ------
    AssertionError
        ``condition`` was still false after ``timeout`` seconds; the message names ``what`` and its last value.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; the condition's last value: {value!r}")
        time.sleep(interval)
