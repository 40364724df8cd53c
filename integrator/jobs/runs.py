"""Job runs: every job records what it did, its progress and its errors (redacted)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from integrator.domain.types import JobStatus
from integrator.jobs.locks import holder_is_gone, this_holder
from integrator.observability.redaction import redact
from integrator.store.db import Store
from integrator.store.models import JobRun
from integrator.store.types import utcnow

INTERRUPTED = "interrupted: the process ended before the run finished (killed or crashed); run it again"


def sweep_interrupted_runs(store: Store) -> int:
    """Mark runs whose process on this host is gone as failed, so the job history tells the truth."""
    with store.session() as s:
        stale = [r for r in s.scalars(select(JobRun).where(JobRun.status == JobStatus.RUNNING))
                 if r.holder and holder_is_gone(r.holder)]
        for run in stale:
            run.status = JobStatus.FAILED
            run.finished_at = utcnow()
            run.errors = [*run.errors, {"item": "run", "error": INTERRUPTED, "kind": "interrupted"}]
        return len(stale)


@dataclass
class RunRecorder:
    """Writes a JobRun row as the job goes: progress, counts and per-item errors."""

    store: Store
    run_id: int
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    done: int = 0
    total: int = 0

    @classmethod
    def start(cls, store: Store, kind: str, *, organisation_id: int | None, params: dict[str, Any],
              dry_run: bool = False, triggered_by: str = "cli") -> RunRecorder:
        sweep_interrupted_runs(store)
        with store.session() as s:
            run = JobRun(kind=kind, organisation_id=organisation_id, params=params, dry_run=dry_run,
                         triggered_by=triggered_by, status=JobStatus.RUNNING, holder=this_holder())
            s.add(run)
            s.flush()
            run_id = run.id
        return cls(store=store, run_id=run_id)

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def error(self, item: str, message: str, *, kind: str = "fatal", group: str | None = None,
              client: str | None = None) -> None:
        # `item` is a pseudonymous key (client code, group key, resource key) – never an email.
        # Vendor error texts can quote addresses ("Delegation denied for x@y"); they are shown in
        # the UI and CLI, so they are scrubbed here, once, for every job.
        entry: dict[str, Any] = {"item": redact(item), "error": redact(message), "kind": kind}
        if group is not None or client is not None:
            # The item's owner (group key, client code): the web shows it to them alone.
            entry |= {"group": group, "client": client}
        self.errors.append(entry)

    def progress(self, done: int | None = None, total: int | None = None, *, flush: bool = True) -> None:
        if done is not None:
            self.done = done
        if total is not None:
            self.total = total
        if flush:
            self._write()

    def _write(self, **extra: Any) -> None:
        with self.store.session() as s:
            run = s.get(JobRun, self.run_id)
            assert run is not None
            run.progress_done = self.done
            run.progress_total = self.total
            run.counts = dict(self.counts)
            run.errors = list(self.errors)
            for k, v in extra.items():
                setattr(run, k, v)

    def save_plan(self, plan: list[dict[str, Any]]) -> None:
        self._write(plan=plan)

    def finish(self, status: JobStatus | None = None) -> JobStatus:
        if status is None:
            status = JobStatus.PARTIAL if self.errors else JobStatus.SUCCEEDED
        self._write(status=status, finished_at=utcnow())
        return status
