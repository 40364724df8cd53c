"""Job locks: two runs of one job (per organisation) never overlap, across processes and hosts.

A lock is a lease: a `job_lock` row with a unique run token in `holder`
(`host:pid:<uuid4 hex>`) and an `expires_at` that the holder keeps pushing forward while it
works. Another run may take the row over only once the lease has expired (its holder was
killed, its host is gone) or, on the same host, at once when the holder's process is dead.

Renewal: a heartbeat thread, not explicit `renew()` calls in the loops. The long holders spend
their time inside calls that we do not control between two safe points: a paced sender sleeps
between messages, a Google batch or a Graph `$batch` waits out 429s and retries, the nightly
evaluation is one transaction. Explicit renewal would have to be threaded through all of them
and one slow call would still outlast the TTL. So one daemon thread per process renews every
lease it holds every `ttl/3`, each renewal in its own short transaction that updates the row
only where `holder` is still our token (two renewals may fail before a lease runs out). The
heartbeat proves the *process* is alive, not that the job makes progress: a hung job keeps its
lease, as a running one must; it is killed, not timed out.

Stopping: renewal alone cannot stop a holder that lost its lease (the row was taken over after
an expiry, or deleted), so the long loops call `lease.check()` at their safe points, before each
write batch: it raises `LeaseLost` when the heartbeat saw the loss, or when the row is no
longer ours or already expired (one indexed read). A holder therefore stops before its next
write; what it wrote before the loss was written while it held the lease. `check()` also makes
a renewal that is overdue itself: on SQLite a holder writing back to back can starve the
heartbeat of the single write lock, and the holder's own safe points are then the ones that
get through.

Releasing deletes the row only where `holder` is our token: a run that lost its lease can never
free the lock of the run that took it over.

Times: `expires_at` is written with the renewer's clock and compared with the taker's, so hosts
sharing one database need synchronised clocks (NTP); the TTL (10 minutes by default) is far
longer than any skew that NTP allows.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from integrator.store.db import Store
from integrator.store.models import JobLock
from integrator.store.types import utcnow

log = logging.getLogger(__name__)

#: Renewed every third of it while the holder works: long enough to ride out a database hiccup,
#: short enough that a killed holder on another host is taken over within minutes.
DEFAULT_TTL = timedelta(minutes=10)

_TOKEN = re.compile(r"[0-9a-f]{32}")


class JobAlreadyRunning(RuntimeError):
    """Another process holds the lock for this job and organisation."""


class LeaseLost(JobAlreadyRunning):
    """This run's lease expired or was taken over: another run holds the job now. The holder
    stops before its next write (a subclass of JobAlreadyRunning: callers already say "another
    run has it")."""


def this_holder() -> str:
    """`host:pid`: what a job run records to tell, later, that its process is gone."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_token() -> str:
    """`host:pid:<uuid4 hex>`: unique per lock taken, even for two runs in one process."""
    return f"{this_holder()}:{uuid.uuid4().hex}"


def holder_is_gone(holder: str) -> bool:
    """True when the holder (`host:pid` or `host:pid:token`) ran on this host and its process
    no longer exists.

    A SIGKILLed job cannot release its lock; on the same host we can tell it is dead and
    take over at once instead of waiting out the lease (which stays as the cross-host fallback).
    """
    host, _, rest = holder.rpartition(":")
    if _TOKEN.fullmatch(rest):
        host, _, rest = host.rpartition(":")
    pid = rest
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # exists, owned by another user
    return False


@dataclass(eq=False)
class Lease:
    """A held job lock: renewed by the heartbeat, checked by the holder at its safe points."""

    store: Store
    name: str
    token: str
    ttl: timedelta
    renew_every: timedelta
    renewals: int = 0
    #: The longest time between two confirmed renewals (or the taking and the first), seconds.
    longest_gap: float = 0.0
    lost: str | None = None
    _confirmed: float = field(default_factory=time.monotonic)
    _renewing: threading.Lock = field(default_factory=threading.Lock)

    def renew(self) -> bool:
        """Push the lease forward, only if the row is still ours; False once it is lost. A
        database error is logged and retried on the next beat (the lease is still ours until
        it expires; `check()` tells)."""
        with self._renewing:  # the heartbeat and the holder's check() never renew at once
            return self._renew()

    def _renew(self) -> bool:
        if self.lost:
            return False
        started = time.monotonic()
        until = utcnow() + self.ttl
        try:
            with self.store.session() as s:
                # Never backwards: a renewal that waited long for the database must not shorten
                # the lease that a later one set.
                result = s.execute(update(JobLock).where(JobLock.name == self.name, JobLock.holder == self.token)
                                   .values(expires_at=case((JobLock.expires_at < until, until),
                                                           else_=JobLock.expires_at))
                                   .execution_options(synchronize_session=False))
                n = getattr(result, "rowcount", 0)
        except SQLAlchemyError as err:
            log.warning("job lock renewal failed; retrying", extra={"lock": self.name, "error": type(err).__name__})
            return True
        if n != 1:
            self.lost = "its lease was taken over or removed"
            log.error("job lock lost", extra={"lock": self.name})
            return False
        self.renewals += 1
        if started > self._confirmed:
            self.longest_gap = max(self.longest_gap, started - self._confirmed)
            self._confirmed = started  # the lease runs at least until started + ttl
        return True

    def _due(self) -> bool:
        return time.monotonic() - self._confirmed >= self.renew_every.total_seconds()

    def check(self) -> None:
        """Raise LeaseLost unless this run still holds the lock: call before each write batch,
        between transactions (never inside one: on SQLite a renewal would wait for its own lock).

        A renewal that is due is made here, by the holder itself, between its own transactions:
        on SQLite a holder that writes back to back can starve the heartbeat of the single write
        lock (its busy handler polls and misses the short gaps between the holder's
        transactions; measured by scripts/bench/leases.py).
        """
        if not self.lost and self._due():
            with self._renewing:  # waits for a heartbeat renewal in flight: the holder is idle now
                if self._due() and self._renew() and not self._due():
                    return  # renewed just now: the row is ours
        if not self.lost:
            with self.store.session() as s:
                row = s.execute(select(JobLock.holder, JobLock.expires_at > utcnow())
                                .where(JobLock.name == self.name)).first()
            if row is None or row[0] != self.token:
                self.lost = f"taken over by {row[0]}" if row else "its row was removed"
            elif not row[1]:
                self.lost = "its lease expired (not renewed in time)"
        if self.lost:
            raise LeaseLost(f"{self.name}: this run lost its lock ({self.lost}); stopped before the next write")

    def release(self) -> None:
        _heartbeat.forget(self)
        with self.store.session() as s:
            s.execute(delete(JobLock).where(JobLock.name == self.name, JobLock.holder == self.token))
        log.info("job lock released", extra={"lock": self.name, "renewals": self.renewals,
                                             "longest_gap_s": round(self.longest_gap, 3), "lost": bool(self.lost)})


class _Heartbeat:
    """One daemon thread per process renews every lease held, each on its own interval. It
    starts with the first lease and ends when none is left."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._due: dict[Lease, float] = {}
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def hold(self, lease: Lease) -> None:
        with self._wake:
            self._due[lease] = time.monotonic() + lease.renew_every.total_seconds()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="job-lock-heartbeat", daemon=True)
                self._thread.start()
            self._wake.notify()

    def forget(self, lease: Lease) -> None:
        with self._wake:
            self._due.pop(lease, None)
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._due:
                    self._thread = None
                    return
                lease, due = min(self._due.items(), key=lambda item: item[1])
                wait = due - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                self._due[lease] = time.monotonic() + lease.renew_every.total_seconds()
            if not lease.renew():
                self.forget(lease)


_heartbeat = _Heartbeat()
# A forked child holds none of its parent's leases: it must not renew them.
os.register_at_fork(after_in_child=_heartbeat.reset)


def acquire(store: Store, name: str, *, ttl: timedelta = DEFAULT_TTL,
            renew_every: timedelta | None = None) -> Lease:
    """Take the lock `name` or raise JobAlreadyRunning; the lease is renewed until released.

    An expired lease, or one whose holder's process on this host is gone, is taken over.
    `renew_every` defaults to a third of the TTL (tests set it longer to let a lease lapse).
    """
    now = utcnow()
    with store.session() as s:
        s.execute(delete(JobLock).where(JobLock.name == name, JobLock.expires_at < now))
        held = s.scalar(select(JobLock).where(JobLock.name == name))
        if held is not None and holder_is_gone(held.holder):
            s.execute(delete(JobLock).where(JobLock.id == held.id, JobLock.holder == held.holder))
    lease = Lease(store, name, run_token(), ttl, renew_every or ttl / 3)
    try:
        with store.session() as s:
            s.add(JobLock(name=name, holder=lease.token, acquired_at=now, expires_at=now + ttl))
    except IntegrityError as err:
        with store.session() as s:
            who = s.scalar(select(JobLock.holder).where(JobLock.name == name))
        raise JobAlreadyRunning(f"{name} is already running ({who or 'another process'}); "
                                "try again when it has finished") from err
    _heartbeat.hold(lease)
    return lease


@contextmanager
def job_lock(store: Store, name: str, *, ttl: timedelta = DEFAULT_TTL,
             renew_every: timedelta | None = None) -> Iterator[Lease]:
    """A lock row in the database, so that it holds across processes and hosts; yields the
    lease, whose `check()` the holder calls before each write batch."""
    lease = acquire(store, name, ttl=ttl, renew_every=renew_every)
    try:
        yield lease
    finally:
        lease.release()
