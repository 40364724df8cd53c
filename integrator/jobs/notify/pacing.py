"""Pacing one sending mailbox to its per-minute limit, across runs and processes.

The vendors count "messages a minute" (Exchange 30, our Gmail figure 60) without saying how the
minute is measured; the sandbox counts fixed minutes. A sliding log keeps to both: a message goes
only when fewer than `per_minute` went in the last `WINDOW_S` seconds. (A token bucket of
`per_minute` would allow twice that in one fixed minute; a bucket of one, our old pacing, allows
no burst at all, so a sender had to wait 2 s between any two letters and could not hand its
worker back while it waited.) So a mailbox sends `per_minute` messages at once, then nothing
until the first of them is a minute (plus a margin) old: 150 letters in 4 minutes, not 5.

The log is the mailbox's sent messages: a run starts from the `sent_at` of the last ones
(`recent_sends`), so a reminders run between two bursts of Thursday's letters does not burst
into the same minute. A worker's run that would wait longer than a short while stops instead and
hands its log on to its continuation (integrator.jobs.queue), which sends the next burst.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.domain.types import OutboxStatus
from integrator.store.models import OutboxMessage

#: The window: a minute, and a margin for the time between our reading of the clock and the
#: provider's (the request's travel, another machine's clock).
WINDOW_S = 61.0


@dataclass
class Yielding:
    """A run that may stop instead of waiting longer than `max_wait_s` for its mailbox (a worker's
    job: it frees its slot). `stopped` collects the organisations that stopped, for continuations."""

    max_wait_s: float
    stopped: list[PacedStop] = field(default_factory=list)


@dataclass(frozen=True)
class PacedStop:
    """An organisation's sender stopped for its pace: it may send again in `wait_s` (clock
    seconds); `ages` are how long ago (clock seconds) its last messages went, for the next run."""

    org_key: str
    wait_s: float
    ages: tuple[float, ...]


class MailboxPace:
    """The sliding log of one mailbox, on a monotonic clock (seconds)."""

    def __init__(self, per_minute: int, monotonic: Callable[[], float], sleep: Callable[[float], None],
                 ages: Iterable[float] = ()) -> None:
        self.per_minute = max(1, per_minute)
        self._monotonic, self._sleep = monotonic, sleep
        now = monotonic()
        self._sent: deque[float] = deque(sorted(now - a for a in ages if 0 <= a < WINDOW_S)[-self.per_minute:])

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - WINDOW_S:
            self._sent.popleft()

    def wait_s(self) -> float:
        """Seconds until the next message may go (0: now)."""
        now = self._monotonic()
        self._expire(now)
        if len(self._sent) < self.per_minute:
            return 0.0
        return max(0.0, self._sent[-self.per_minute] + WINDOW_S - now)

    def acquire(self) -> None:
        while (wait := self.wait_s()) > 0:
            self._sleep(wait)

    def record(self) -> None:
        """A message went to the provider now."""
        self._sent.append(self._monotonic())

    def ages(self) -> tuple[float, ...]:
        now = self._monotonic()
        self._expire(now)
        return tuple(now - t for t in self._sent)


def recent_sends(s: Session, organisation_id: int, now: datetime, per_minute: int) -> list[float]:
    """How long ago (seconds, on the run's clock) the organisation's last messages in the window went."""
    since = now - timedelta(seconds=WINDOW_S)
    rows = s.scalars(select(OutboxMessage.sent_at).where(
        OutboxMessage.organisation_id == organisation_id, OutboxMessage.status == OutboxStatus.SENT,
        OutboxMessage.sent_at > since).order_by(OutboxMessage.sent_at.desc()).limit(per_minute))
    out = []
    for at in rows:
        if at is None:
            continue
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        out.append(max(0.0, (now - at).total_seconds()))
    return out
