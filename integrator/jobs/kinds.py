"""The scheduled job kinds, shared by both engines: the in-process scheduler (`schedule`, for one
SQLite installation) and the distributed worker (`queue`, procrastinate on PostgreSQL).

Each kind is an adapter taking (store, settings, org_key, clock) that calls the job module that
owns the work; `run_job` runs one under the database lock `schedule:<kind>:<org>` (a lease,
integrator.jobs.locks), so the two engines, two workers and a CLI run never run one job for one
organisation at once. The adapters read "now" (and from it "next week") from the clock they are
given, not the wall clock: `serve --sandbox` and the tests run them on the sandbox tenant's clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from integrator.config import Settings
from integrator.domain.weeks import week_after
from integrator.jobs.locks import JobAlreadyRunning, LeaseLost, job_lock
from integrator.jobs.nightly.run import run_nightly_sync
from integrator.jobs.notify.letters import queue_weekly_letters
from integrator.jobs.notify.pacing import Yielding
from integrator.jobs.notify.reminders import queue_due_reminders
from integrator.jobs.notify.send_runs import Trigger
from integrator.jobs.notify.sender import send_outbox
from integrator.jobs.notify.surveys import queue_surveys
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.observability import metrics
from integrator.store.db import Store
from integrator.store.models import JobLock
from integrator.store.types import utcnow

log = logging.getLogger(__name__)
ALL = "*"  # the org key of a run that covers every organisation at once

Clock = Callable[[], datetime]  # an aware datetime, like integrator.store.types.utcnow
JobFn = Callable[[Store, Settings, str, Clock], Any]
Outcome = Literal["ok", "skipped", "lease_lost", "failed"]


def _next_week(settings: Settings, at: datetime) -> str:
    """The ISO week after the one `at` falls in, in the service's time zone."""
    return week_after(at.astimezone(ZoneInfo(settings.time_zone)).date())


def _only(org_key: str) -> list[str] | None:
    return None if org_key == ALL else [org_key]


# Adapters: each takes (store, settings, org_key, now) and calls the job module that owns the work.

def _nightly_sync(store: Store, settings: Settings, org_key: str, now: Clock) -> Any:
    result = run_nightly_sync(store, settings, org_key=org_key, now=now(), triggered_by="scheduler")
    # This week's survey links that no letter carried, and the one reminder; sent by the next
    # reminders run. Only this organisation's: the other organisations' runs queue theirs.
    queue_surveys(store, settings, now(), org_keys=_only(org_key))
    return result


def _send(store: Store, settings: Settings, now: Clock, job: str, org_key: str = ALL,
          yielding: Yielding | None = None, carried: Mapping[str, Sequence[float]] | None = None) -> Any:
    # The clock, not one reading of it: a paced run of many letters takes minutes. Each
    # organisation's part is a JobRun, as from the CLI: uncertain messages reach the job pages.
    # An organisation whose sender is busy in another process is skipped: that one sends the rest.
    # A clock may bring its own sleep and monotonic time (a benchmark's sandbox clock).
    # `yielding` (the worker): a sender stops where its mailbox's pace would make it wait, and
    # the worker defers its continuation (integrator.jobs.queue); the embedded scheduler waits.
    pacing: dict[str, Any] = {k: getattr(now, k) for k in ("sleep", "monotonic") if hasattr(now, k)}
    return send_outbox(store, settings, clock=now, trigger=Trigger(job, "scheduler"),
                       org_keys=_only(org_key), yielding=yielding, carried=carried, **pacing)


def _reminders(store: Store, settings: Settings, org_key: str, now: Clock, yielding: Yielding | None = None) -> Any:
    # The embedded scheduler runs one for every organisation (ALL); the worker one per organisation.
    queue_due_reminders(store, settings, now(), org_keys=_only(org_key))
    return _send(store, settings, now, "reminders", org_key, yielding)


def _weekly_letters(store: Store, settings: Settings, org_key: str, now: Clock,
                    yielding: Yielding | None = None) -> Any:
    queue_weekly_letters(store, settings, org_key, _next_week(settings, now()))
    # Only this organisation's sender: its letters do not wait behind other organisations' queues.
    return _send(store, settings, now, "weekly_letters", org_key, yielding)


def continue_sending(store: Store, settings: Settings, org_key: str, now: Clock, *, job: str,
                     ages: Sequence[float], yielding: Yielding) -> Any:
    """A worker's continuation of a sender that stopped for its pace (`job` started it), with
    the mailbox's log as it handed it on (`ages`, clock seconds, aged to now)."""
    return _send(store, settings, now, job, org_key, yielding, {org_key: ages})


def _weekly_setup(store: Store, settings: Settings, org_key: str, now: Clock) -> Any:
    at = now()  # one reading: the week set up and the run's "now" must agree
    return run_weekly_setup(store, settings, _next_week(settings, at), org_key=org_key, dry_run=False,
                            triggered_by="scheduler", now=at)


JOB_FUNCTIONS: dict[str, JobFn] = {
    "nightly_sync": _nightly_sync,
    "reminders": _reminders,
    "weekly_letters": _weekly_letters,
    "weekly_setup": _weekly_setup,
}


def lock_name(kind: str, org_key: str) -> str:
    return f"schedule:{kind}:{org_key}"


def lock_expires(store: Store, kind: str, org_key: str) -> datetime | None:
    """When the lease of the run holding this job runs out (None: nobody holds it)."""
    with store.session() as s:
        return s.scalar(select(JobLock.expires_at).where(JobLock.name == lock_name(kind, org_key)))


def run_job(store: Store, settings: Settings, kind: str, org_key: str, fn: JobFn, now: Clock = utcnow) -> Outcome:
    """Runs one job for one organisation under its lock, on the clock `now`: "ok", "skipped"
    (another process holds the job), "lease_lost" (taken over mid-run) or "failed" (logged)."""
    return run_job_result(store, settings, kind, org_key, fn, now)[0]


def run_job_result(store: Store, settings: Settings, kind: str, org_key: str, fn: JobFn,
                   now: Clock = utcnow) -> tuple[Outcome, Any]:
    """`run_job`, and what the job returned (None unless "ok")."""
    started = time.monotonic()
    status: Outcome = "failed"
    result: Any = None
    try:
        with job_lock(store, lock_name(kind, org_key)):  # a lease, renewed while the job runs
            log.info("scheduled job started", extra={"job": kind, "org": org_key})
            result = fn(store, settings, org_key, now)
            status = "ok"
    except LeaseLost as err:
        # Another run took the job over (this one's lease lapsed): it stopped before its next write.
        status = "lease_lost"
        log.warning("scheduled job stopped: its lock was taken over", extra={"job": kind, "org": org_key,
                                                                              "error": str(err)[:200]})
    except JobAlreadyRunning:
        status = "skipped"
        log.info("scheduled job skipped: already running", extra={"job": kind, "org": org_key})
    except Exception:  # noqa: BLE001 - one failing job must not stop the scheduler or the worker
        log.exception("scheduled job failed", extra={"job": kind, "org": org_key})
    finally:
        elapsed = time.monotonic() - started
        metrics.observe_job(kind, elapsed, status)
        log.info("scheduled job finished",
                 extra={"job": kind, "org": org_key, "status": status, "seconds": round(elapsed, 3)})
    return status, result


def run_locked(store: Store, settings: Settings, kind: str, org_key: str, fn: JobFn, now: Clock = utcnow) -> bool:
    """`run_job` for the in-process scheduler: True when the job ran, False when it did not."""
    return run_job(store, settings, kind, org_key, fn, now) == "ok"
