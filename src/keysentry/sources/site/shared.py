"""What every worker of one crawl shares: the request pace and the byte budget.

Both live in shared memory with a lock of their own (``multiprocessing``), created
before the workers start, so they hold whether the workers are forked processes or
threads of this one: ``--rate`` spaces every request of the crawl, redirects
included, and ``--max-bytes`` is a total no worker can overshoot.
"""

from __future__ import annotations

import multiprocessing
import time


class Pace:
    """At most ``rate`` requests a second across all workers (0: no limit)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = multiprocessing.RawValue("d", 0.0)  # when the next request may go
        self._lock = multiprocessing.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()  # one clock for every process (CLOCK_MONOTONIC)
            at = max(now, self._next.value)
            self._next.value = at + self._interval
        if at > now:
            time.sleep(at - now)


class ByteBudget:
    """Decoded bytes all responses may have together (``--max-bytes``), taken as read."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._spent = multiprocessing.RawValue("q", 0)
        self._lock = multiprocessing.Lock()

    def take(self, count: int) -> int:
        """Up to count bytes of what is left; what was granted (0 once it is spent)."""
        with self._lock:
            granted = max(0, min(count, self.total - self._spent.value))
            self._spent.value += granted
        return granted

    @property
    def spent(self) -> int:
        return self._spent.value

    @property
    def exhausted(self) -> bool:
        return self._spent.value >= self.total
