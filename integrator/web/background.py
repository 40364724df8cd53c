"""Jobs from the web: the weekly setup's dry-run preview in the request, its apply in a background
thread (jobs.engine: embedded) or as a job for `integrator worker` (jobs.engine: procrastinate: the
web process then runs no jobs of its own, it only queues them), and a failed run started again
(the status page's retry) the same way.

A job creates its own JobRun (inside `run_weekly_setup`, `run_nightly_sync`, ...); we find that row
by a unique `triggered_by` tag, so the page can follow JobRun.progress_done/total while the thread works.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from integrator.domain.types import JobStatus
from integrator.domain.weeks import is_past_week
from integrator.jobs.nightly.run import run_nightly_sync
from integrator.jobs.notify.send_runs import Trigger
from integrator.jobs.notify.sender import send_outbox
from integrator.jobs.plan import Plan
from integrator.jobs.queue import defer, defer_weekly_setup_apply
from integrator.jobs.tenant_check import run_tenant_check
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.observability import metrics
from integrator.store.db import Store
from integrator.store.models import JobRun
from integrator.store.types import utcnow

log = logging.getLogger(__name__)


@dataclass
class Ticket:
    tag: str
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


class ApplyFailed(RuntimeError):
    """The apply ended before it recorded a JobRun; the message is the job's own."""


def _run_weekly_setup(store: Store, settings: Any, week: str, *, org_key: str | None, group_key: str | None,
                      dry_run: bool, triggered_by: str, now: datetime | None,
                      group_keys: Collection[str] | None = None, confirmed: Collection[str] = ()) -> tuple[Plan, int]:
    started = time.monotonic()
    status = "failed"
    try:
        plan, run_id = run_weekly_setup(store, settings, week, org_key=org_key, group_key=group_key,
                                        group_keys=group_keys, confirmed_removals=confirmed,
                                        dry_run=dry_run, triggered_by=triggered_by, now=now)
        status = "dry_run" if dry_run else "applied"
        return plan, int(run_id)
    finally:
        metrics.observe_job("weekly_setup", time.monotonic() - started, status)


def preview(store: Store, settings: Any, week: str, *, org_key: str | None, group_key: str | None,
            actor: str, now: datetime | None = None, group_keys: Collection[str] | None = None) -> tuple[Plan, int]:
    """`now`: the app's clock (web.context.now); None is the wall clock."""
    return _run_weekly_setup(store, settings, week, org_key=org_key, group_key=group_key, dry_run=True,
                             triggered_by=f"web:{actor}", now=now, group_keys=group_keys)


def start_apply(store: Store, settings: Any, week: str, *, org_key: str | None, group_key: str | None,
                actor: str, wait_s: float = 20.0, now: datetime | None = None,
                group_keys: Collection[str] | None = None, confirmed: Collection[str] = ()) -> int:
    """Starts the apply and returns its JobRun id once the job has recorded it.

    `confirmed`: the keys of the removals of access the person confirmed under the preview;
    any other removal is held back and the access stays.

    Raises ApplyFailed with the job's own message when it fails before recording a run
    (e.g. another run of the same job holds the lock).
    """
    with store.session() as s:
        # A double click, or a colleague on the same organisation: one apply at a time. (The job's
        # own lock also guards the tenant; this check answers before a second run is recorded.)
        running = s.scalar(select(JobRun.id).where(JobRun.kind == "weekly_setup", JobRun.dry_run.is_(False),
                                                   JobRun.status == JobStatus.RUNNING,
                                                   *([JobRun.params["org"].as_string() == org_key]
                                                     if org_key else []),
                                                   # a run killed mid-way stays "running": do not block forever
                                                   JobRun.started_at > utcnow() - timedelta(hours=3)))
    if running is not None:
        raise ApplyFailed(f"a weekly setup for this organisation is already running (run {running}); "
                          "wait until it has finished")
    ticket = Ticket(tag=f"web:{actor}#{secrets.token_hex(6)}")
    if settings.jobs.engine == "procrastinate":
        job_id = defer_weekly_setup_apply(store.url, week=week, org_key=org_key, group_key=group_key,
                                          group_keys=list(group_keys) if group_keys is not None else None,
                                          confirmed=list(confirmed), triggered_by=ticket.tag, now=now)
        return _wait_for_queued(store, ticket, wait_s, job_id)

    def work() -> None:
        _run_weekly_setup(store, settings, week, org_key=org_key, group_key=group_key, dry_run=False,
                          triggered_by=ticket.tag, now=now, group_keys=group_keys, confirmed=confirmed)

    run_id = _start(store, ticket, work, f"weekly-setup-{group_key or org_key}", wait_s)
    if run_id is None:
        raise ApplyFailed(ticket.error or "the weekly setup ended without recording a run")
    return run_id


def _start(store: Store, ticket: Ticket, work: Callable[[], object], name: str, wait_s: float) -> int | None:
    """Runs `work` in a thread; the id of the JobRun it records under the ticket's tag, or None
    when it ended without one (nothing to do). ApplyFailed when it does not start in time."""

    def body() -> None:
        try:
            work()
        except Exception as err:  # noqa: BLE001 - a thread must report, not die silently
            ticket.error = str(err) or type(err).__name__
            log.exception("background job failed", extra={"job": name})
        finally:
            ticket.done.set()

    threading.Thread(target=body, name=name, daemon=True).start()
    run_id = _recorded_run(store, ticket, wait_s)
    if run_id is None and ticket.done.is_set():
        if ticket.error:
            raise ApplyFailed(ticket.error)
        return None
    if run_id is None:
        raise ApplyFailed("the job did not start in time; see the job history")
    return run_id


def _wait_for_queued(store: Store, ticket: Ticket, wait_s: float, job_id: int) -> int:
    """The JobRun id of a queued apply once a worker has recorded it (the ticket's `done` is never
    set here: the job runs in a worker process)."""
    run_id = _recorded_run(store, ticket, wait_s)
    if run_id is None:
        # Queued, not lost: a worker runs it when one is free (or started).
        raise ApplyFailed(f"the weekly setup is queued (job {job_id}) but no worker has started it yet; "
                          "it runs when a worker takes it: see the job history")
    return run_id


def _recorded_run(store: Store, ticket: Ticket, wait_s: float) -> int | None:
    """The id of the JobRun recorded under the ticket's tag, waiting up to `wait_s`; None when none
    was recorded by then or when the job ended (ticket.done) without one."""
    deadline = time.monotonic() + wait_s
    while True:
        ended = ticket.done.is_set()  # read before the query: a run recorded just before the end is seen
        with store.session() as s:
            run_id = s.scalar(select(JobRun.id).where(JobRun.triggered_by == ticket.tag))
        if run_id is not None or ended or time.monotonic() >= deadline:
            return run_id
        ticket.done.wait(0.2)


#: The kinds of run the status page may start again, and how.
RETRYABLE = frozenset({"nightly_sync", "weekly_setup", "notify_send", "tenant_check"})


def retry(store: Store, settings: Any, run: JobRun, org_key: str | None, *, actor: str, today_: Any,
          now: datetime | None = None, wait_s: float = 20.0) -> int | None:
    """Starts the job of a failed or partial `run` again, as its own door starts it: the same
    week and groups of a weekly setup (no removal of access confirmed: any is held back), the
    organisation's nightly sync, a sending run, or the tenant check. The new run's id, or None
    when the job found nothing to do (a sending run with nothing due). ApplyFailed with the reason
    when it cannot be started (a past week, another run holding the lock)."""
    params: dict[str, Any] = dict(run.params or {})
    if run.kind == "tenant_check":
        if org_key is None:
            raise ApplyFailed("the tenant check names no organisation")
        return run_tenant_check(store, settings, org_key, triggered_by=f"web:{actor}", actor=actor).run_id
    if run.kind == "weekly_setup":
        week = str(params.get("week") or "")
        if not week or is_past_week(week, today_):
            raise ApplyFailed(f"week {week} is already past: a past week's setup is not run again from here")
        groups = params.get("groups")
        return start_apply(store, settings, week, org_key=params.get("org") or org_key,
                           group_key=params.get("group") or params.get("group_key"), actor=actor, now=now,
                           group_keys=groups if isinstance(groups, list) else None, wait_s=wait_s)
    if settings.jobs.engine == "procrastinate" and run.kind in ("nightly_sync", "notify_send") and org_key:
        # The web runs no jobs here: a worker takes it (the status page says it was started).
        defer(store.url, "nightly_sync" if run.kind == "nightly_sync" else "reminders", org_key)
        return None
    ticket = Ticket(tag=f"web:{actor}#{secrets.token_hex(6)}")
    if run.kind == "nightly_sync":
        return _start(store, ticket, lambda: run_nightly_sync(store, settings, org_key=org_key, now=now,
                                                              triggered_by=ticket.tag),
                      f"nightly-sync-{org_key}", wait_s)
    if run.kind == "notify_send":
        return _start(store, ticket, lambda: send_outbox(store, settings, now=now,
                                                         trigger=Trigger("retry", ticket.tag)),
                      "notify-send", wait_s)
    raise ApplyFailed(f"a {run.kind} run is not started again from the status page")
