"""The in-process scheduler of `integrator serve` (the embedded engine, for one SQLite
installation): nightly sync, reminders, weekly letters and (optionally) the weekly setup, per
organisation, at the times in the config's `schedule`. The job kinds themselves live in
`integrator.jobs.kinds`, shared with the distributed worker (`integrator.jobs.queue`).

Each firing takes a database lock named `schedule:<job>:<org>` (integrator.jobs.locks.job_lock),
so two service processes never run the same job for one organisation at once; the jobs' own
locks still keep a scheduled run and a CLI run apart. A missed firing (service down at 02:00)
runs once when the service is back within the grace time, never several times.

The jobs read "now" (and from it "next week") from the scheduler's clock, not the wall clock:
`serve --sandbox` runs them on the sandbox tenant's clock like its pages, and tests pin a date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from integrator.config import Settings
from integrator.jobs.kinds import ALL, JOB_FUNCTIONS, Clock, JobFn, run_locked
from integrator.store.db import Store
from integrator.store.types import utcnow

__all__ = ["ALL", "JOB_FUNCTIONS", "Clock", "JobFn", "ScheduledJob", "build_scheduler", "planned_jobs",
           "run_locked"]
CRON_DAYS = {1: "mon", 2: "tue", 3: "wed", 4: "thu", 5: "fri", 6: "sat", 7: "sun"}


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
