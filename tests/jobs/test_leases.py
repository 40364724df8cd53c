"""Job locks are leases: renewed while their holder works, never freed by a run that lost them,
and a holder that lost its lease stops before its next write (issue 16, must-have 1).

Real SQLite file (and PostgreSQL when INTEGRATOR_TEST_POSTGRES_URL is set), real heartbeat
threads, real processes killed with SIGKILL.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from integrator.domain.types import OutboxStatus
from integrator.jobs.locks import JobAlreadyRunning, LeaseLost, acquire, job_lock
from integrator.jobs.notify.letters import queue_weekly_letters
from integrator.jobs.notify.sender import GraphMailer, send_lock, send_outbox
from integrator.store.db import Store
from integrator.store.models import JobLock, OutboxMessage
from integrator.store.types import utcnow
from tests.jobs import notify_world as nw
from tests.jobs.notify_world import LETTER_DAY, ORG, WEEK, World

sandbox_server, sb, world = nw.sandbox_server, nw.sb, nw.world  # fixtures

NAME = "notify:send"


def holder(store: Store, name: str = NAME) -> str | None:
    with store.session() as s:
        return s.scalar(select(JobLock.holder).where(JobLock.name == name))


def test_a_lapsed_lease_taken_over_is_neither_freed_nor_written_by_its_old_holder(any_store: Store) -> None:
    # The first sender's renewal is paused (every minute, lease one second): its lease lapses
    # while it works.
    first = acquire(any_store, NAME, ttl=timedelta(seconds=1), renew_every=timedelta(minutes=1))
    time.sleep(1.3)
    second = acquire(any_store, NAME, ttl=timedelta(seconds=1))  # renewed every 1/3 s
    try:
        assert holder(any_store) == second.token != first.token

        first.release()  # the first finishes: it must not free the second's lock

        assert holder(any_store) == second.token
        with pytest.raises(LeaseLost, match="taken over"):
            first.check()  # the first stops before its next write
        time.sleep(2.5)  # more than two of the second's TTLs: its heartbeat keeps it
        with pytest.raises(JobAlreadyRunning):
            acquire(any_store, NAME, ttl=timedelta(seconds=1))  # a third cannot take it
        second.check()
    finally:
        second.release()
    assert holder(any_store) is None


def test_the_heartbeat_keeps_a_lock_alive_past_several_ttls(any_store: Store) -> None:
    ttl = timedelta(seconds=1)
    with job_lock(any_store, "nightly_sync:raisio", ttl=ttl) as lease:
        started = time.monotonic()
        while time.monotonic() - started < 5:  # five TTLs
            time.sleep(0.5)
            lease.check()
            with pytest.raises(JobAlreadyRunning):
                acquire(any_store, "nightly_sync:raisio", ttl=ttl)
        assert lease.renewals >= 10, "renewed every ttl/3"
        assert lease.longest_gap < ttl.total_seconds()
    assert holder(any_store, "nightly_sync:raisio") is None


def test_a_holder_writing_back_to_back_keeps_its_lease(any_store: Store) -> None:
    """On SQLite the holder's own transactions leave the heartbeat only short gaps to write in;
    the renewal due is then made at the holder's safe point (check)."""
    ttl = timedelta(seconds=1.5)
    with job_lock(any_store, "nightly_sync:raisio", ttl=ttl) as lease:
        started = time.monotonic()
        while time.monotonic() - started < 6:
            with any_store.session() as s:  # a write transaction holding the lock for 0.3 s
                s.execute(update(JobLock).where(JobLock.name == "nightly_sync:raisio")
                          .values(acquired_at=JobLock.acquired_at))
                time.sleep(0.3)
            lease.check()
        assert lease.longest_gap < ttl.total_seconds()


HOLD = (
    "import sys, time\n"
    "from datetime import timedelta\n"
    "from integrator.store.db import Store\n"
    "from integrator.jobs.locks import job_lock\n"
    "with job_lock(Store(sys.argv[1]), 'nightly_sync:raisio', ttl=timedelta(seconds=float(sys.argv[2]))) as lease:\n"
    "    print(lease.token, flush=True)\n"
    "    time.sleep(120)\n"
)


def _killed_holder(store: Store, ttl_s: float) -> str:
    """A process that took the lock, SIGKILLed while holding it; returns its token."""
    with subprocess.Popen([sys.executable, "-c", HOLD, store.url, str(ttl_s)], stdout=subprocess.PIPE,
                          text=True) as proc:
        try:
            assert proc.stdout is not None
            token = proc.stdout.readline().strip()
            with pytest.raises(JobAlreadyRunning):  # alive: refused
                acquire(store, "nightly_sync:raisio")
        finally:
            proc.kill()
            proc.wait(timeout=30)
    return token


def test_a_sigkilled_holder_on_another_host_is_taken_over_when_its_lease_expires(any_store: Store) -> None:
    token = _killed_holder(any_store, ttl_s=3)
    # This test cannot run a process on another host: the row is made to name one, so that the
    # same-host shortcut cannot apply and only the lease decides.
    elsewhere = "elsewhere.example:4242:" + token.rsplit(":", 1)[1]
    with any_store.session() as s:
        s.execute(update(JobLock).where(JobLock.holder == token).values(holder=elsewhere))
    killed_at = time.monotonic()
    with pytest.raises(JobAlreadyRunning):
        acquire(any_store, "nightly_sync:raisio")  # its lease still runs
    while True:
        try:
            lease = acquire(any_store, "nightly_sync:raisio")
            break
        except JobAlreadyRunning:
            assert time.monotonic() - killed_at < 10, "never taken over"
            time.sleep(0.2)
    waited = time.monotonic() - killed_at
    lease.release()
    assert 0.5 < waited < 4, waited  # the remaining lease, at most the TTL (3 s)


def test_a_sigkilled_holder_on_this_host_is_taken_over_at_once(any_store: Store) -> None:
    token = _killed_holder(any_store, ttl_s=600)
    assert holder(any_store, "nightly_sync:raisio") == token  # its 10-minute lease has not expired
    with job_lock(any_store, "nightly_sync:raisio") as lease:
        assert holder(any_store, "nightly_sync:raisio") == lease.token != token


class TakenOverAfter:
    """The organisation's real Graph mailer; while the n-th message goes out, the send lock's
    lease lapses (its renewals stopped landing: the row's expiry is in the past) and another
    sender takes the lock, as it would after the TTL."""

    def __init__(self, w: World, n: int) -> None:
        self.inner = GraphMailer(w.settings.organisation(ORG))
        self.store, self.n, self.sent = w.store, n, 0
        self.other: Any = None

    def send(self, msg: OutboxMessage) -> str | None:
        out = self.inner.send(msg)
        self.sent += 1
        if self.sent == self.n:
            with self.store.session() as s:
                s.execute(update(JobLock).where(JobLock.name == send_lock(ORG))
                          .values(expires_at=utcnow() - timedelta(seconds=1)))
            self.other = acquire(self.store, send_lock(ORG))
        return out

    def requests(self) -> int:
        return self.inner.requests()

    def close(self) -> None:
        self.inner.close()


def test_a_sender_that_lost_its_lease_stops_before_the_next_message(world: World) -> None:
    queue_weekly_letters(world.store, world.settings, ORG, WEEK)
    mailer = TakenOverAfter(world, n=2)
    try:
        lost = send_outbox(world.store, world.settings, LETTER_DAY, mailers={ORG: mailer})
        assert lost["lease_lost"] == 1 and lost["sent"] == 0  # its counts went with it: the run stopped
        assert len(world.sb.sent_mail()) == 2, "nothing claimed or sent after the lease was lost"
        assert holder(world.store, send_lock(ORG)) == mailer.other.token, "the lost run did not free the new lock"
        with world.store.session() as s:
            assert Counter(s.scalars(select(OutboxMessage.status))) == {OutboxStatus.SENT: 2,
                                                                        OutboxStatus.QUEUED: 5}
        mailer.other.release()  # the sender that took over finishes

        again = send_outbox(world.store, world.settings, LETTER_DAY)
    finally:
        mailer.close()
    assert again["sent"] == 5 and again["recovered_uncertain"] == 0
    assert sorted(Counter(m.to[0] for m in world.sb.sent_mail()).values()) == [1] * 7, "none sent twice"
