"""Weekly setup from the web: a dry-run preview in the request, the apply in a background thread
(jobs.engine: embedded) or as a job for `integrator worker` (jobs.engine: procrastinate: the web
process then runs no jobs of its own, it only queues them).

The apply creates its own JobRun (inside `run_weekly_setup`); we find that row by a unique
`triggered_by` tag, so the page can follow JobRun.progress_done/total while the job works.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from integrator.domain.types import JobStatus
from integrator.jobs.plan import Plan
from integrator.jobs.queue import defer_weekly_setup_apply
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
        return _wait_for_run(store, ticket, wait_s, queued=job_id)

    def work() -> None:
        try:
            _run_weekly_setup(store, settings, week, org_key=org_key, group_key=group_key, dry_run=False,
                              triggered_by=ticket.tag, now=now, group_keys=group_keys, confirmed=confirmed)
        except Exception as err:  # noqa: BLE001 - a thread must report, not die silently
            ticket.error = str(err) or type(err).__name__
            log.exception("weekly setup apply failed", extra={"group": group_key, "week": week})
        finally:
            ticket.done.set()

    threading.Thread(target=work, name=f"weekly-setup-{group_key or org_key}", daemon=True).start()
    return _wait_for_run(store, ticket, wait_s)


def _wait_for_run(store: Store, ticket: Ticket, wait_s: float, queued: int | None = None) -> int:
    """The apply's JobRun id once the job has recorded it (from a thread here, or a worker)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        with store.session() as s:
            run_id = s.scalar(select(JobRun.id).where(JobRun.triggered_by == ticket.tag))
        if run_id is not None:
            return run_id
        if ticket.done.is_set():
            with store.session() as s:
                run_id = s.scalar(select(JobRun.id).where(JobRun.triggered_by == ticket.tag))
            if run_id is not None:
                return run_id
            raise ApplyFailed(ticket.error or "the weekly setup ended without recording a run")
        ticket.done.wait(0.2)
    if queued is not None:
        # Queued, not lost: a worker runs it when one is free (or started).
        raise ApplyFailed(f"the weekly setup is queued (job {queued}) but no worker has started it yet; "
                          "it runs when a worker takes it: see the job history")
    raise ApplyFailed("the weekly setup did not start in time; see the job history")
