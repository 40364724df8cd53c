"""Job locks: two runs of one job (per organisation) never overlap, across processes and hosts."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from integrator.store.db import Store
from integrator.store.models import JobLock
from integrator.store.types import utcnow


class JobAlreadyRunning(RuntimeError):
    """Another process holds the lock for this job and organisation."""


def this_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_is_gone(holder: str) -> bool:
    """True when the holder ran on this host and its process no longer exists.

    A SIGKILLed job cannot release its lock; on the same host we can tell it is dead and
    take over at once instead of waiting out the TTL (which stays as the cross-host fallback).
    """
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # exists, owned by another user
    return False


@contextmanager
def job_lock(store: Store, name: str, *, ttl: timedelta = timedelta(hours=2)) -> Iterator[None]:
    """A lock row in the database, so that it holds across processes and hosts.

    An expired lock (its holder was killed) is taken over; the TTL is longer than any job.
    """
    now = utcnow()
    with store.session() as s:
        s.execute(delete(JobLock).where(JobLock.name == name, JobLock.expires_at < now))
        held = s.scalar(select(JobLock).where(JobLock.name == name))
        if held is not None and holder_is_gone(held.holder):
            s.delete(held)
    try:
        with store.session() as s:
            s.add(JobLock(name=name, holder=this_holder(), acquired_at=now, expires_at=now + ttl))
    except IntegrityError as err:
        with store.session() as s:
            held = s.scalar(select(JobLock).where(JobLock.name == name))
        who = held.holder if held else "another process"
        raise JobAlreadyRunning(f"{name} is already running ({who}); try again when it has finished") from err
    try:
        yield
    finally:
        with store.session() as s:
            s.execute(delete(JobLock).where(JobLock.name == name, JobLock.holder == this_holder()))
