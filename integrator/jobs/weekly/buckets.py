"""Send the weekly apply's lanes through one queue per quota bucket, so that a waiting bucket
holds up only its own work.

Google counts Classroom calls per acting user and per project a minute (Drive, Calendar and
Gmail per user): a bucket here is (API, acting user). The admin account enrols every domain
student, so at 10,000 clients its Classroom bucket is the one that waits for the next minute;
the coordinators' work (topics, invitations, coursework of courses already enrolled) and the
Drive work (folders, sharing) go on meanwhile instead of waiting behind it.

Each lane (steps.Lane) yields a wave of steps; they join their buckets' queues. The loop serves
the bottleneck first: among the buckets that may send now, the one with the most queued work for
its per-minute rate (queued steps / GOOGLE_PER_USER_PER_MINUTE; ties: the oldest step first).
The run can end no sooner than that bucket's work allows, so whenever it may send, it sends, and
the other buckets fill the time it waits for its next window (at 10,000 clients the admin's 9,500
enrolments go before the Drive lane's folders, not behind them). It fills one batch envelope
with that API's ready steps (any acting users: each part carries its own token), records the
answers and resumes a lane once its whole wave is answered. Order within a bucket stays the
order queued, and a lane's next wave still waits for its whole wave (dependency order). A step refused for quota (429) or
never sent (`never_reached`) goes back to the front of its bucket, and the bucket waits the
Retry-After; other retriable failures go back likewise after the policy's backoff, but only for
steps that may be retried (not a coursework create whose answer was lost: its handler looks).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from integrator.jobs.weekly.steps import Lane, Step
from integrator.providers.errors import Parked, ProviderError, Retriable, never_reached
from integrator.providers.google.client import ItemResult
from integrator.providers.limits import GOOGLE_PER_USER_PER_MINUTE

if TYPE_CHECKING:
    from integrator.jobs.weekly.applier import ApplierBase

Bucket = tuple[str, str]  # (API, acting user)

#: Quota answers (a Retry-After to the next window) one step waits out before it is given up:
#: while the project's window is spent every user's bucket is refused once a minute, so the
#: policy's few attempts would give up a step that merely queued behind the admin's enrolments.
MAX_QUOTA_WAITS = 30
#: The rate of an API not in GOOGLE_PER_USER_PER_MINUTE (its steps are few in a weekly apply).
OTHER_PER_MINUTE = 1200


@dataclass
class Queued:
    seq: int
    lane: int
    step: Step
    retry: bool
    bucket: Bucket
    attempts: int = 0
    quota_waits: int = 0


class Buckets:
    def __init__(self, app: ApplierBase, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.app, self.gc, self.clock = app, app.gc, clock
        self.queues: dict[Bucket, list[Queued]] = {}
        self.not_before: dict[Bucket, float] = {}
        self.open: dict[int, int] = {}  # lane -> steps of its wave not yet answered
        self.lanes: list[Lane] = []
        self.seq = 0

    def run(self, lanes: Iterable[Lane]) -> None:
        self.lanes = list(lanes)
        for i in range(len(self.lanes)):
            self._resume(i)
        while any(self.queues.values()):
            bucket = self._ready()
            if bucket is None:
                self._wait()
                continue
            self._send(bucket)

    # ---- lanes ----
    def _resume(self, lane: int) -> None:
        """Run the lane to its next wave with steps (or to its end) and queue that wave."""
        for wave in self.lanes[lane]:
            if not wave.steps:
                continue
            for step in wave.steps:
                bucket = self.gc.bucket_of(step.request)
                self.seq += 1
                self.queues.setdefault(bucket, []).append(Queued(self.seq, lane, step, wave.retry, bucket))
            self.open[lane] = len(wave.steps)
            return
        self.open.pop(lane, None)

    # ---- buckets ----
    def _urgency(self, bucket: Bucket) -> tuple[float, int]:
        """Sort key, most urgent first: the bucket's queued work in minutes of its quota, then its
        oldest step."""
        q = self.queues[bucket]
        return -len(q) / GOOGLE_PER_USER_PER_MINUTE.get(bucket[0], OTHER_PER_MINUTE), q[0].seq

    def _may_send(self, now: float) -> list[Bucket]:
        """Buckets with queued steps whose wait (if any) is over, the most urgent first."""
        ready = [b for b, q in self.queues.items() if q and self.not_before.get(b, 0.0) <= now]
        return sorted(ready, key=self._urgency)

    def _ready(self) -> Bucket | None:
        ready = self._may_send(self.clock())
        return ready[0] if ready else None

    def _wait(self) -> None:
        """Nothing may send: sleep until the first waiting bucket's time, then let it go.

        Released by count, not by re-reading the clock, so a policy whose sleep does not sleep
        (tests) moves on too."""
        waiting = {b: t for b, t in self.not_before.items() if self.queues.get(b)}
        first = min(waiting.values())
        pause = first - self.clock()
        if pause > 0:
            self.gc.policy.sleep(pause)
        for b, t in waiting.items():
            if t <= first:
                self.not_before[b] = 0.0

    def _send(self, bucket: Bucket) -> None:
        api = bucket[0]
        size = self.gc.batch_limits[api] if self.gc.batching else 1
        same_api = [b for b in self._may_send(self.clock()) if b[0] == api and b != bucket]
        chunk: list[Queued] = []
        for b in [bucket, *same_api]:
            take = self.queues[b][:size - len(chunk)]
            del self.queues[b][:len(take)]
            chunk.extend(take)
            if len(chunk) >= size:
                break
        self.app.check_lease()
        results = self.gc.batch([(i, q.step.request) for i, q in enumerate(chunk)], retry=False)
        answered: list[tuple[Queued, ItemResult[int]]] = []
        again: dict[Bucket, list[Queued]] = {}
        parked: Parked | None = None
        for i, q in enumerate(chunk):
            err = results[i].error
            parked = err if isinstance(err, Parked) else parked
            if isinstance(err, Retriable) and self._again(q, err):
                again.setdefault(q.bucket, []).append(q)
            else:
                answered.append((q, results[i]))
        for b, items in again.items():
            self.queues[b][:0] = items  # first again: they came first
        if parked is not None:  # a daily quota is spent: the rest of this API is not sent today
            answered += self._park(api, parked)
        self._record(answered)

    def _again(self, q: Queued, err: Retriable) -> bool:
        """Whether the step goes back to its queue (and its bucket waits), per the retry policy."""
        policy = self.gc.policy
        if not (q.retry or never_reached(err)):
            return False  # a create without an idempotency key whose answer was lost: its handler looks
        quota = never_reached(err) and err.retry_after is not None
        if quota:
            q.quota_waits += 1
            if q.quota_waits > MAX_QUOTA_WAITS or err.retry_after > policy.max_retry_after_s:  # type: ignore[operator]
                return False
        else:
            q.attempts += 1
            if policy.gives_up(q.attempts, err):
                return False
        wait = policy.delay(max(1, q.attempts), err)
        self.gc.stats.retries += 1
        self.not_before[q.bucket] = max(self.not_before.get(q.bucket, 0.0), self.clock() + wait)
        return True

    def _park(self, api: str, parked: Parked) -> list[tuple[Queued, ItemResult[int]]]:
        out: list[tuple[Queued, ItemResult[int]]] = []
        for b, q in self.queues.items():
            if b[0] == api:
                err: ProviderError = Parked(f"not sent: {parked}", vendor="google", reason=parked.reason)
                out += [(item, ItemResult(0, error=err)) for item in q]
                q.clear()
        return out

    def _record(self, answered: list[tuple[Queued, ItemResult[int]]]) -> None:
        """Record a batch's answers in one session, then resume each lane whose wave is complete."""
        if not answered:
            return
        app = self.app
        with app.store.session() as s:
            app.preload(s, [(q.step.action.resource, q.step.action.key) for q, _ in answered]
                        + [("coursework", q.step.action.key) for q, _ in answered])
            for q, r in answered:
                q.step.handle(s, q.step.action, r)
            app.save_user_ids(s)
        app.settle()
        app.advance([q.step.action for q, _ in answered])
        for q, _ in answered:
            self.open[q.lane] -= 1
        for lane in sorted({q.lane for q, _ in answered}):
            if self.open.get(lane) == 0:
                self._resume(lane)
