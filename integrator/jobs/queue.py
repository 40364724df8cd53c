"""The distributed engine: the scheduled jobs as procrastinate tasks on PostgreSQL, run by any
number of `integrator worker` processes on any number of machines (docs/jobs-across-machines.md).

One task per job kind taking the organisation's key (`integrator.nightly_sync`,
`integrator.reminders`, `integrator.weekly_letters`, `integrator.weekly_setup`); each runs the same
adapter as the embedded scheduler (integrator.jobs.kinds) under the same database lease
`schedule:<kind>:<org>`. On top of that lease, procrastinate's own guards:

- periodic tasks per organisation (`periodic_id`), deferred by every worker and deduplicated by
  the database: one firing is one job, however many workers run;
- `lock=<kind>:<org>`: one organisation's runs of one kind never overlap, and run in order;
- `queueing_lock=<kind>:<org>`: a firing is not queued while the previous one still waits, so a
  slow organisation's jobs do not pile up.

Paced sending does not hold a worker's slot while it waits: a job that sends letters or
reminders sends what its mailbox's per-minute limit allows now (a burst, integrator.jobs.notify.
pacing), and where the next message would wait longer than `INLINE_WAIT_S` it stops and defers
its continuation, `integrator.send`, to `CONTINUATION_LEAD_S` before the mailbox may send again
(`schedule_in`, on the wall clock: a sandbox clock's speed is divided out; it sleeps the lead in
its slot, so the poll and its start do not delay the burst). The continuation carries the
mailbox's log and does the same, until the queue is empty. It runs under `lock=send:<org>` and
`queueing_lock=send:<org>` (one continuation waits per organisation; deferring another while
one waits is a no-op: the waiting one sends everything due) and, inside, the sender's lease
`notify:send:<org>` (one sender per mailbox, whichever job runs it). A job defers its
continuation only after its sender released that lease, so one that finds it busy can end:
the holder defers the next one.

A worker killed mid-job (SIGKILL, a lost machine) stops writing its heartbeat; the periodic
`integrator.retry_stalled_jobs` puts the jobs of workers silent for `jobs.stalled_after_seconds`
back in the queue (procrastinate's documented recipe), and another worker takes them up. Its
lease is taken over at once on the same host (the holder's process is gone) or when it expires;
until then the task finds the job held and is retried at the lease's expiry. What the killed run
wrote stays written; the jobs are idempotent (a letter is sent once by its outbox key, a message
left in flight becomes "uncertain", never sent twice).

Cron in procrastinate is UTC; the config's times are local (`time_zone`). Each local time is
registered once per UTC offset the zone takes (winter and summer), and a firing whose local
time is not the configured one does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import croniter
from procrastinate import App, JobContext, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Job
from procrastinate.periodic import PeriodicDeferrer
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from sqlalchemy.engine import make_url

from integrator.config import Settings
from integrator.jobs.kinds import JOB_FUNCTIONS, Clock, JobFn, continue_sending, lock_expires, run_job_result
from integrator.jobs.notify.pacing import Yielding
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.store.db import Store
from integrator.store.types import utcnow

log = logging.getLogger(__name__)

KINDS = ("nightly_sync", "reminders", "weekly_letters", "weekly_setup")
WEB_APPLY = "integrator.weekly_setup_apply"
#: A job held by another run is tried again when that run's lease runs out, this many times.
HELD_ATTEMPTS = 12
#: A job that failed (a vendor down at 02:00) is tried again after this long, this many times.
FAILED_RETRY = timedelta(minutes=10)
FAILED_ATTEMPTS = 3
#: The kinds that send mail, and the continuation of a sender that stopped for its pace.
SENDING_KINDS = ("reminders", "weekly_letters")
SEND = "send"
#: A worker's sender sleeps for its mailbox at most this long (clock seconds); a longer wait
#: (the next burst, a minute on) frees the slot and becomes a scheduled continuation.
INLINE_WAIT_S = 3.0
#: How often an idle worker looks for jobs whose scheduled time has come (wall seconds; new jobs
#: wake it at once by LISTEN/NOTIFY, scheduled ones do not): a continuation is this much late at most.
POLL_SECONDS = 1.0
#: A continuation is scheduled this much (clock seconds) before its mailbox may send again and
#: sleeps the rest in its slot (less than INLINE_WAIT_S): the poll's delay and the job's start
#: (its mailer, a token) then fall inside the wait, not after it. Measured (national.py, 10 x 90):
#: without it a mailbox's next burst began 1.2-3.9 s (median over the mailboxes) after its 61 s window.
CONTINUATION_LEAD_S = POLL_SECONDS + 1.0


class EngineError(ValueError):
    """The job engine cannot run on this installation (e.g. procrastinate on SQLite)."""


class JobHeld(RuntimeError):
    """Another run holds the job's lease (a CLI run, or a killed worker's until it expires)."""

    def __init__(self, name: str, until: datetime | None) -> None:
        super().__init__(f"{name} is held by another run" + (f" until {until.isoformat()}" if until else ""))
        self.until = until


class JobFailed(RuntimeError):
    """The job ran and failed (its JobRun and the log say why)."""


def task_name(kind: str) -> str:
    return f"integrator.{kind}"


def job_lock_name(kind: str, org_key: str) -> str:
    """procrastinate's `lock` and `queueing_lock` of one kind for one organisation."""
    return f"{kind}:{org_key}"


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL; EngineError for anything else."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise EngineError(f"jobs.engine: procrastinate needs PostgreSQL; the database is {url.get_backend_name()} "
                          f"({url.render_as_string(hide_password=True)}). Use jobs.engine: embedded "
                          "(the default) with SQLite, or move the database to PostgreSQL")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class _Retry(BaseRetryStrategy):
    """A held job: again when the holder's lease runs out. A failed one: again in 10 minutes.
    Anything else (a bug in a task): not again, it stays failed in the queue for an admin."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, JobHeld) and job.attempts < HELD_ATTEMPTS:
            soon = utcnow() + timedelta(seconds=30)
            return RetryDecision(retry_at=max(soon, (exception.until or soon) + timedelta(seconds=1)))
        if isinstance(exception, JobFailed) and job.attempts < FAILED_ATTEMPTS:
            return RetryDecision(retry_in={"seconds": int(FAILED_RETRY.total_seconds())})
        return None


@dataclass
class Runtime:
    """What a worker's tasks run against: its store, settings and clock."""

    store: Store
    settings: Settings
    clock: Clock = utcnow


def _offsets(zone: ZoneInfo, year: int) -> list[timedelta]:
    """The UTC offsets the zone takes this year and next (winter and summer time)."""
    seen: list[timedelta] = []
    for y in (year, year + 1):
        for month in range(1, 13):
            off = datetime(y, month, 1, 12, tzinfo=zone).utcoffset() or timedelta(0)
            if off not in seen:
                seen.append(off)
    return seen


def local_crons(settings: Settings, at: dtime, weekday: int | None, year: int) -> list[tuple[str, str]]:
    """(cron in UTC, suffix) for a local time of day (and ISO weekday), one per UTC offset."""
    out = []
    for off in _offsets(ZoneInfo(settings.time_zone), year):
        minutes = at.hour * 60 + at.minute - int(off.total_seconds() // 60)
        shift, minutes = divmod(minutes, 24 * 60)
        dow = "*" if weekday is None else str((weekday + shift) % 7)  # cron: 0 = Sunday
        out.append((f"{minutes % 60} {minutes // 60} * * {dow}", f"utc{int(off.total_seconds() // 60):+d}"))
    return out


def _is_due_local(settings: Settings, kind: str, timestamp: int) -> bool:
    """Whether a periodic firing at `timestamp` is the configured local time (not the other
    offset's registration); reminders run every few minutes whatever the offset."""
    sched = settings.schedule
    at = datetime.fromtimestamp(timestamp, UTC).astimezone(ZoneInfo(settings.time_zone))
    if kind == "nightly_sync":
        return (at.hour, at.minute) == (sched.nightly_sync.hour, sched.nightly_sync.minute)
    if kind in ("weekly_letters", "weekly_setup"):
        w = sched.weekly_letter if kind == "weekly_letters" else sched.weekly_setup
        return (at.isoweekday(), at.hour, at.minute) == (w.weekday, w.time.hour, w.time.minute)
    return True


def stalled_cron(seconds: int) -> str:
    return f"* * * * * */{seconds}" if seconds < 60 else f"*/{seconds // 60} * * * *"


def build_app(database_url: str, runtime: Runtime | None = None, *, pool_size: int = 4) -> App:
    """The procrastinate app on the installation's PostgreSQL. With a `runtime` (a worker), its
    tasks run the jobs and the periodic tasks of the config are registered; without one (the
    web, a test), it only defers jobs by name."""
    app = App(connector=PsycopgConnector(conninfo=conninfo(database_url), min_size=1, max_size=pool_size))
    if runtime is None:
        return app
    rt = runtime
    for kind in KINDS:
        _register_kind(app, rt, kind)
    _register_send(app, rt)
    _register_web_apply(app, rt)
    every = rt.settings.jobs.stalled_check_seconds
    stalled_after = rt.settings.jobs.stalled_after_seconds

    @app.periodic(cron=stalled_cron(every), periodic_id="integrator")
    @app.task(name="integrator.retry_stalled_jobs", queueing_lock="retry_stalled_jobs", pass_context=True)
    async def retry_stalled_jobs(context: JobContext, timestamp: int) -> int:
        """procrastinate's recipe: the jobs of workers whose heartbeat stopped go back in the queue."""
        manager = context.app.job_manager
        stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after))
        for job in stalled:
            log.warning("stalled job handed on", extra={"job": job.task_name, "job_id": job.id, "lock": job.lock})
            await manager.retry_job(job)
        return len(stalled)

    return app


def _run(rt: Runtime, kind: str, org_key: str, fn: JobFn) -> str:
    status, _result = run_job_result(rt.store, rt.settings, kind, org_key, fn, rt.clock)
    if status == "skipped":
        raise JobHeld(f"{kind} for {org_key}", lock_expires(rt.store, kind, org_key))
    if status == "failed":
        raise JobFailed(f"{kind} for {org_key} failed; see its job run and the log")
    return status


def _speed(rt: Runtime) -> float:
    """Clock seconds per wall second (a benchmark's sandbox clock runs faster)."""
    return float(getattr(rt.clock, "speed", 1.0))


def _continue(app: App, rt: Runtime, job: str, yielding: Yielding) -> None:
    """Defer the continuation of every sender that stopped for its pace, to when its mailbox may
    send again. Called after the sender released its lease."""
    for stop in yielding.stopped:
        lock = job_lock_name(SEND, stop.org_key)
        try:
            app.configure_task(task_name(SEND), lock=lock, queueing_lock=lock,
                               schedule_in={"seconds": max(0.0, stop.wait_s - CONTINUATION_LEAD_S) / _speed(rt)},
                               task_kwargs={"org_key": stop.org_key, "job": job, "ages": list(stop.ages),
                                            "paced_at": time.time()}).defer()
        except AlreadyEnqueued:
            pass  # a continuation waits already: it sends everything due when it runs


def _register_send(app: App, rt: Runtime) -> None:
    def send(org_key: str, job: str, ages: Sequence[float], paced_at: float) -> str:
        """A paced sender's next burst; `ages` were measured at `paced_at` (wall epoch seconds)."""
        aged = [a + max(0.0, time.time() - paced_at) * _speed(rt) for a in ages]
        yielding = Yielding(INLINE_WAIT_S)
        status = _run(rt, SEND, org_key, partial(continue_sending, job=job, ages=aged, yielding=yielding))
        _continue(app, rt, job, yielding)
        return status

    app.task(name=task_name(SEND), retry=_Retry())(send)


def _register_kind(app: App, rt: Runtime, kind: str) -> None:
    def run(org_key: str, timestamp: int | None = None) -> str:
        if timestamp is not None and not _is_due_local(rt.settings, kind, timestamp):
            return "not_this_offset"  # the other UTC offset's registration of this local time
        if kind not in SENDING_KINDS:
            return _run(rt, kind, org_key, JOB_FUNCTIONS[kind])
        yielding = Yielding(INLINE_WAIT_S)
        sending: Any = JOB_FUNCTIONS[kind]  # the sending kinds take `yielding` (JobFn does not say so)
        status = _run(rt, kind, org_key, partial(sending, yielding=yielding))
        _continue(app, rt, kind, yielding)
        return status

    run.__name__ = run.__qualname__ = kind
    task = app.task(name=task_name(kind), retry=_Retry())(run)
    sched = rt.settings.schedule
    year = utcnow().year
    for org in rt.settings.organisations:
        lock = job_lock_name(kind, org.key)
        options: dict[str, Any] = {"task_kwargs": {"org_key": org.key}, "lock": lock, "queueing_lock": lock}
        crons: list[tuple[str, str]]
        if kind == "reminders":
            crons = [(f"*/{sched.reminders_every_minutes} * * * *", "")]
        elif kind == "nightly_sync":
            crons = local_crons(rt.settings, sched.nightly_sync, None, year)
        else:
            at = sched.weekly_letter if kind == "weekly_letters" else sched.weekly_setup
            if not at.enabled:
                continue
            crons = local_crons(rt.settings, at.time, at.weekday, year)
        for cron, suffix in crons:
            # procrastinate's typing wants the firing time first; it passes it by name (timestamp=).
            app.periodic(cron=cron, periodic_id=f"{org.key}@{suffix}" if suffix else org.key,
                         **options)(task)  # type: ignore[arg-type]


def _register_web_apply(app: App, rt: Runtime) -> None:
    def weekly_setup_apply(week: str, org_key: str | None, group_key: str | None, group_keys: list[str] | None,
                           confirmed: list[str], triggered_by: str, now: str | None) -> int:
        """The weekly setup applied from the page: its JobRun carries `triggered_by`, which the
        page follows."""
        _plan, run_id = run_weekly_setup(rt.store, rt.settings, week, org_key=org_key, group_key=group_key,
                                         group_keys=group_keys, confirmed_removals=confirmed, dry_run=False,
                                         triggered_by=triggered_by,
                                         now=datetime.fromisoformat(now) if now else None)
        return int(run_id)

    app.task(name=WEB_APPLY)(weekly_setup_apply)


async def fire(app: App, kind: str, timestamp: int, org_keys: Collection[str] | None = None) -> int:
    """Defer the firing at `timestamp` of every organisation's periodic `kind` (or those in
    `org_keys`) exactly as the workers' periodic deferrer does: one job per registration whose
    cron matches, deduplicated by the database (a second call defers nothing). The number of
    registrations tried. For an admin's or a test's "run it now, as scheduled"."""
    at = datetime.fromtimestamp(timestamp, UTC)
    due = [(pt, timestamp) for (name, _), pt in app.periodic_registry.periodic_tasks.items()
           if name == task_name(kind) and croniter.croniter.match(pt.cron, at)
           and (org_keys is None or (pt.configure_kwargs.get("task_kwargs") or {}).get("org_key") in org_keys)]
    await PeriodicDeferrer(app.periodic_registry).defer_jobs(due)
    return len(due)


def defer(database_url: str, kind: str, org_key: str, **task_kwargs: Any) -> int:
    """Queue one run of `kind` for one organisation now, as its periodic task would (same lock
    and queueing lock); the id of the procrastinate job. AlreadyEnqueued when one waits."""
    app = build_app(database_url, pool_size=1)
    lock = job_lock_name(kind, org_key)
    with app.open():
        return app.configure_task(task_name(kind), lock=lock, queueing_lock=lock,
                                  task_kwargs={"org_key": org_key, **task_kwargs}).defer()


def defer_weekly_setup_apply(database_url: str, *, week: str, org_key: str | None, group_key: str | None,
                             group_keys: list[str] | None, confirmed: list[str], triggered_by: str,
                             now: datetime | None) -> int:
    """The page's apply, for a worker to run (under the weekly setup's lock of the organisation)."""
    app = build_app(database_url, pool_size=1)
    with app.open():
        return app.configure_task(WEB_APPLY, lock=job_lock_name("weekly_setup", org_key or "*"), task_kwargs={
            "week": week, "org_key": org_key, "group_key": group_key, "group_keys": group_keys,
            "confirmed": confirmed, "triggered_by": triggered_by,
            "now": now.isoformat() if now else None}).defer()


def schema_present(app: App) -> bool:
    row = app.connector.get_sync_connector().execute_query_one(
        "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present")
    return bool(row["present"])


def apply_schema(database_url: str) -> bool:
    """Create procrastinate's tables in the installation's database; False when they exist
    already (idempotent). Upgrades of procrastinate itself follow its migration notes."""
    app = build_app(database_url, pool_size=1)
    with app.open():
        if schema_present(app):
            return False
        app.schema_manager.apply_schema()
        return True


def run_worker(app: App, settings: Settings, *, concurrency: int, name: str,
               poll_seconds: float = POLL_SECONDS) -> None:
    """Run jobs until SIGINT/SIGTERM (procrastinate stops gracefully: running jobs finish).
    The jobs are synchronous: they run in a pool of `concurrency` threads."""
    jobs = settings.jobs

    async def main() -> None:
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=concurrency + 1, thread_name_prefix="integrator-job"))
        async with app.open_async():
            if not await _schema_present_async(app):
                raise EngineError("procrastinate's tables are missing: run `integrator worker schema --apply` "
                                  "once for this database")
            await app.run_worker_async(concurrency=concurrency, name=name, wait=True, delete_jobs="never",
                                       fetch_job_polling_interval=poll_seconds,
                                       update_heartbeat_interval=jobs.heartbeat_seconds,
                                       stalled_worker_timeout=jobs.stalled_after_seconds)

    asyncio.run(main())


async def _schema_present_async(app: App) -> bool:
    row = await app.connector.execute_query_one_async(
        "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present")
    return bool(row["present"])
