"""Login attempt limits, kept in memory per process.

Why memory and not the database: `integrator serve` is one waitress process, so one
process sees every attempt; a restart forgets the counters, which costs an attacker a
restart they cannot trigger. If the service is ever run as several processes, move this
to a table (the interface stays the same).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class LoginLimiter:
    """Refuses a login after too many recent failures for one account from one address,
    or from one address over all accounts (password spraying)."""

    def __init__(self, *, per_account: int = 5, per_address: int = 30, window_s: float = 900.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        cutoff = self._clock() - self.window_s
        while q and q[0] < cutoff:
            q.popleft()
        return q

    def allowed(self, account: str, address: str) -> bool:
        with self._lock:
            return (len(self._recent((account.lower(), address))) < self.per_account
                    and len(self._recent(("*", address))) < self.per_address)

    def failed(self, account: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            self._recent((account.lower(), address)).append(now)
            self._recent(("*", address)).append(now)

    def succeeded(self, account: str, address: str) -> None:
        with self._lock:
            self._failures.pop((account.lower(), address), None)
