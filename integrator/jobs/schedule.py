"""The in-process scheduler of `integrator serve`: nightly sync, reminders, weekly letters and
(optionally) the weekly setup, per organisation, at the times in the config's `schedule`.

Each firing takes a database lock named `schedule:<job>:<org>` (integrator.jobs.locks.job_lock),
so two service processes never run the same job for one organisation at once; the jobs' own
locks still keep a scheduled run and a CLI run apart. A missed firing (service down at 02:00)
runs once when the service is back within the grace time, never several times.

The jobs read "now" (and from it "next week") from the scheduler's clock, not the wall clock:
`serve --sandbox` runs them on the sandbox tenant's clock like its pages, and tests pin a date.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from integrator.config import Settings
from integrator.domain.weeks import week_after
from integrator.jobs.locks import JobAlreadyRunning, LeaseLost, job_lock
from integrator.jobs.nightly.run import run_nightly_sync
from integrator.jobs.notify.letters import queue_weekly_letters
from integrator.jobs.notify.reminders import queue_due_reminders
from integrator.jobs.notify.send_runs import Trigger
from integrator.jobs.notify.sender import send_outbox
from integrator.jobs.notify.surveys import queue_surveys
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.observability import metrics
from integrator.store.db import Store
from integrator.store.types import utcnow

log = logging.getLogger(__name__)
ALL = "*"  # the org key of jobs that cover every organisation in one run
CRON_DAYS = {1: "mon", 2: "tue", 3: "wed", 4: "thu", 5: "fri", 6: "sat", 7: "sun"}

Clock = Callable[[], datetime]  # an aware datetime, like integrator.store.types.utcnow
JobFn = Callable[[Store, Settings, str, Clock], Any]


def _next_week(settings: Settings, at: datetime) -> str:
    """The ISO week after the one `at` falls in, in the service's time zone."""
    return week_after(at.astimezone(ZoneInfo(settings.time_zone)).date())


# Adapters: each takes (store, settings, org_key, now) and calls the job module that owns the work.

def _nightly_sync(store: Store, settings: Settings, org_key: str, now: Clock) -> Any:
    result = run_nightly_sync(store, settings, org_key=org_key, now=now(), triggered_by="scheduler")
    # This week's survey links that no letter carried, and the one reminder; sent by the next
    # reminders run.
    queue_surveys(store, settings, now())
    return result


def _send(store: Store, settings: Settings, now: Clock, job: str, org_key: str = ALL) -> Any:
    # The clock, not one reading of it: a paced run of many letters takes minutes. Each
    # organisation's part is a JobRun, as from the CLI: uncertain messages reach the job pages.
    # An organisation whose sender is busy in another process is skipped: that one sends the rest.
    return send_outbox(store, settings, clock=now, trigger=Trigger(job, "scheduler"),
                       org_keys=None if org_key == ALL else [org_key])


def _reminders(store: Store, settings: Settings, org_key: str, now: Clock) -> Any:
    # One run covers every organisation (org_key is ALL): reminders are due by the minute.
    queue_due_reminders(store, settings, now())
    return _send(store, settings, now, "reminders")


def _weekly_letters(store: Store, settings: Settings, org_key: str, now: Clock) -> Any:
    queue_weekly_letters(store, settings, org_key, _next_week(settings, now()))
    # Only this organisation's sender: its letters do not wait behind other organisations' queues.
    return _send(store, settings, now, "weekly_letters", org_key)


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


@dataclass
class ScheduledJob:
    kind: str
    org_key: str
    trigger: Any


def planned_jobs(settings: Settings) -> list[ScheduledJob]:
    sched = settings.schedule
    tz = settings.time_zone
    out: list[ScheduledJob] = []
    if settings.organisations:
        out.append(ScheduledJob("reminders", ALL, IntervalTrigger(minutes=sched.reminders_every_minutes,
                                                                  timezone=tz)))
    for org in settings.organisations:
        n = sched.nightly_sync
        out.append(ScheduledJob("nightly_sync", org.key, CronTrigger(hour=n.hour, minute=n.minute, timezone=tz)))
        for kind, at in (("weekly_letters", sched.weekly_letter), ("weekly_setup", sched.weekly_setup)):
            if at.enabled:
                out.append(ScheduledJob(kind, org.key, CronTrigger(
                    day_of_week=CRON_DAYS[at.weekday], hour=at.time.hour, minute=at.time.minute, timezone=tz)))
    return out


def run_locked(store: Store, settings: Settings, kind: str, org_key: str, fn: JobFn, now: Clock = utcnow) -> bool:
    """Runs one job for one organisation under its lock, on the clock `now`; False when another
    process has it."""
    started = time.monotonic()
    status = "failed"
    try:
        with job_lock(store, f"schedule:{kind}:{org_key}"):  # a lease, renewed while the job runs
            log.info("scheduled job started", extra={"job": kind, "org": org_key})
            fn(store, settings, org_key, now)
            status = "ok"
            return True
    except LeaseLost as err:
        # Another run took the job over (this one's lease lapsed): it stopped before its next write.
        status = "lease_lost"
        log.warning("scheduled job stopped: its lock was taken over", extra={"job": kind, "org": org_key,
                                                                              "error": str(err)[:200]})
        return False
    except JobAlreadyRunning:
        status = "skipped"
        log.info("scheduled job skipped: already running", extra={"job": kind, "org": org_key})
        return False
    except Exception:  # noqa: BLE001 - one failing job must not stop the scheduler
        log.exception("scheduled job failed", extra={"job": kind, "org": org_key})
        return False
    finally:
        elapsed = time.monotonic() - started
        metrics.observe_job(kind, elapsed, status)
        log.info("scheduled job finished",
                 extra={"job": kind, "org": org_key, "status": status, "seconds": round(elapsed, 3)})


def build_scheduler(store: Store, settings: Settings, targets: dict[str, JobFn] | None = None, *,
                    now: Clock | None = None) -> BackgroundScheduler:
    """`now`: the jobs' clock (default the wall clock). The triggers still fire on the wall
    clock; the clock decides what a firing works on ("next week", the reminders due)."""
    fns = targets or JOB_FUNCTIONS
    clock = now or utcnow
    scheduler = BackgroundScheduler(timezone=settings.time_zone,
                                    job_defaults={"coalesce": True, "max_instances": 1,
                                                  "misfire_grace_time": 3600})
    for job in planned_jobs(settings):
        fn = fns.get(job.kind)
        if fn is None:
            continue
        scheduler.add_job(run_locked, job.trigger, args=(store, settings, job.kind, job.org_key, fn, clock),
                          id=f"{job.kind}:{job.org_key}", name=f"{job.kind} {job.org_key}",
                          replace_existing=True)
    return scheduler
