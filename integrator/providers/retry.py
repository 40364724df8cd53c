"""The one retry policy, batch-item retry loop and rate limiter, shared by all providers.

googleapiclient's own `num_retries` ignores Retry-After and has no cap, and its batch retries
only 401 items; Kiota retries POSTs on 503 (a second letter!). So providers call the vendor
once per attempt and this module decides whether and when to try again: `RetryPolicy.call` for
one call, `retry_in_chunks` for the items of batch envelopes (Google batches, Graph `$batch`).
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from integrator.providers.errors import Parked, ProviderError, Retriable

T = TypeVar("T")
Item = TypeVar("Item")


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (Google and Graph): delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    # Retry-After beyond this is not waited out inside a run: the item is reported retriable.
    max_retry_after_s: float = 120.0
    jitter: float = 0.5  # +-50 % full jitter around the exponential delay
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, error: Retriable) -> float:
        """Seconds to wait before attempt `attempt + 1` (attempt counts from 1)."""
        if error.retry_after is not None:
            # The server told us; honour it exactly (plus a little jitter so that a batch of
            # parked callers does not stampede at the same instant).
            return float(error.retry_after) + float(self.rng.uniform(0, 0.05 * max(error.retry_after, 1)))
        exp: float = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))
        return max(0.0, exp * (1 + self.rng.uniform(-self.jitter, self.jitter)))

    def gives_up(self, attempt: int, error: Retriable) -> bool:
        """Whether attempt `attempt` (counting from 1), failed with `error`, was the last one: the
        attempts are used up, or the server asks for a longer wait than a run waits out."""
        if attempt >= self.max_attempts:
            return True
        return error.retry_after is not None and error.retry_after > self.max_retry_after_s

    def call(self, fn: Callable[[], T], *, on_retry: Callable[[int, Retriable, float], None] | None = None) -> T:
        """Run `fn`, retrying on `Retriable` up to `max_attempts` times."""
        attempt = 1
        while True:
            try:
                return fn()
            except Retriable as err:
                if not self.wait_to_retry(attempt, err, on_retry):
                    raise
                attempt += 1

    def wait_to_retry(self, attempt: int, err: Retriable,
                      on_retry: Callable[[int, Retriable, float], None] | None = None) -> bool:
        """After failed attempt `attempt`: False when the policy gives up, else wait (telling
        `on_retry` how long) and True. The one back-off step of single calls and batches alike."""
        if self.gives_up(attempt, err):
            return False
        wait = self.delay(attempt, err)
        if on_retry is not None:
            on_retry(attempt, err, wait)
        self.sleep(wait)
        return True


def retry_in_chunks(items: Sequence[Item], limit: int, send: Callable[[list[Item]], None],
                    error_of: Callable[[Item], ProviderError | None], *, policy: RetryPolicy, retry: bool = True,
                    on_retry: Callable[[int, Retriable, float], None] | None = None,
                    park: Callable[[Item, Parked], None] | None = None) -> None:
    """Send `items` in envelopes of at most `limit`, then again only the items that failed retriably.

    `send(chunk)` sends one envelope and records each item's outcome where `error_of(item)` reads
    it (None: done). After each round the failed items wait `policy.delay` for the worst of them
    (the longest Retry-After, else backoff; `on_retry` hears of it) and go again, for at most
    `policy.max_attempts` rounds; a Retry-After beyond `policy.max_retry_after_s` ends the retries
    at once. Whatever is left keeps its Retriable error for the caller. With `park`, the first
    Parked item (a daily quota used up) stops the sending: every item not yet sent, in this
    round or a later one, is handed to `park(item, parked)` instead of spending more of the quota.
    """
    pending = list(items)
    attempt = 1
    parked: Parked | None = None
    while pending:
        failed: list[Item] = []
        for start in range(0, len(pending), limit):
            chunk = pending[start:start + limit]
            if parked is not None and park is not None:
                for item in chunk:
                    park(item, parked)
                continue
            send(chunk)
            for item in chunk:
                err = error_of(item)
                if isinstance(err, Parked):
                    parked = err
                elif isinstance(err, Retriable):
                    failed.append(item)
        if not failed or not retry:
            return
        errors = [e for e in map(error_of, failed) if isinstance(e, Retriable)]
        worst = max(errors, key=lambda e: e.retry_after or 0.0)
        if not policy.wait_to_retry(attempt, worst, on_retry):
            return
        attempt += 1
        pending = failed


class RateLimiter:
    """A token bucket: at most `rate` calls per `per_s` seconds, bursts up to `rate`.

    Used to pace calls to the published limits (e.g. Exchange 30 messages/min) instead of
    running into 429s and burning retries.
    """

    def __init__(self, rate: float, per_s: float = 60.0, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0 or per_s <= 0:
            raise ValueError("rate and per_s must be positive")
        self.capacity = float(rate)
        self.fill_per_s = rate / per_s
        self.tokens = float(rate)
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._last) * self.fill_per_s)
        self._last = now

    def try_acquire(self, n: float = 1.0) -> bool:
        with self._lock:
            self._refill()
            if self.tokens >= n:
                self.tokens -= n
                return True
            return False

    def acquire(self, n: float = 1.0) -> None:
        while True:
            with self._lock:
                self._refill()
                if self.tokens >= n:
                    self.tokens -= n
                    return
                wait = (n - self.tokens) / self.fill_per_s
            self._sleep(wait)
