"""Login attempt limits, kept in memory per process.

Why memory and not the database: `integrator serve` is one waitress process, so one
process sees every attempt; a restart forgets the counters, which costs an attacker a
restart they cannot trigger. If the service is ever run as several processes, move this
to a table (the interface stays the same).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

Key = tuple[str, str]


class LoginLimiter:
    """Refuses a login after too many recent failures for one account from one address,
    or from one address over all accounts (password spraying).

    Memory is bounded whatever the attempts: a key keeps at most its limit of timestamps (older
    ones would not change an answer), a key whose last failure left the window is dropped, and past
    `max_keys` the key idle longest goes first. An attacker who floods the table from many
    addresses evicts only keys older than their own flood; each address still meets its limits.
    """

    def __init__(self, *, per_account: int = 5, per_address: int = 30, window_s: float = 900.0,
                 max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self.window_s = window_s
        self.max_keys = max_keys
        self._clock = clock
        # Oldest last failure first: pruning looks only at the front.
        self._failures: OrderedDict[Key, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many keys (account and address, or address) are tracked now."""
        with self._lock:
            return len(self._failures)

    def timestamps(self) -> int:
        """How many failure times are kept over all keys (for the memory bound's test)."""
        with self._lock:
            return sum(len(q) for q in self._failures.values())

    def _count(self, key: Key, cutoff: float) -> int:
        q = self._failures.get(key)  # a check must not create a key: only failures are kept
        return 0 if q is None else sum(1 for t in q if t >= cutoff)

    def _prune(self, now: float) -> None:
        cutoff = now - self.window_s
        while self._failures:
            key, q = next(iter(self._failures.items()))
            if len(self._failures) <= self.max_keys and q and q[-1] >= cutoff:
                break
            del self._failures[key]

    def _record(self, key: Key, limit: int, now: float) -> None:
        q = self._failures.get(key)
        if q is None:
            self._failures[key] = [now]
            return
        self._failures.move_to_end(key)
        q.append(now)
        del q[:-limit]  # only the newest `limit` can decide an answer

    def allowed(self, account: str, address: str) -> bool:
        with self._lock:
            cutoff = self._clock() - self.window_s
            return (self._count((account.lower(), address), cutoff) < self.per_account
                    and self._count(("*", address), cutoff) < self.per_address)

    def failed(self, account: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            self._record((account.lower(), address), self.per_account, now)
            self._record(("*", address), self.per_address, now)
            self._prune(now)

    def succeeded(self, account: str, address: str) -> None:
        with self._lock:
            self._failures.pop((account.lower(), address), None)
