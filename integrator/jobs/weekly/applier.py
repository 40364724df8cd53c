"""The weekly-setup applier's own state: our memory of each resource, progress and results.

The stages build on it: folders (folders.py), topics, enrolments and sharing (rosters.py),
coursework (coursework.py), and the lanes they form (apply.py), sent by quota bucket (buckets.py).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from integrator.config import OrganisationConfig
from integrator.jobs.locks import Lease
from integrator.jobs.plan import Action
from integrator.jobs.runs import RunRecorder
from integrator.jobs.weekly.plan import PlannedOrg
from integrator.jobs.weekly.state import Desired
from integrator.jobs.weekly.steps import Lane, Step, Wave
from integrator.providers.errors import NeedsReauth, ProviderError
from integrator.providers.google.classroom import (
    Classroom,
    CourseSpec,
)
from integrator.providers.google.client import GoogleClient
from integrator.providers.google.drive import Drive
from integrator.store.db import Store
from integrator.store.models import Client, ExternalResource, StaffUser

log = logging.getLogger(__name__)


class ApplierBase:
    def __init__(self, store: Store, org_cfg: OrganisationConfig, gc: GoogleClient, planned: PlannedOrg,
                 recorder: RunRecorder, now: datetime, *, lease: Lease | None = None) -> None:
        assert org_cfg.google is not None
        self.lease = lease  # the weekly-setup lock: checked before each batch of writes
        self.store, self.org_cfg, self.google, self.gc = store, org_cfg, org_cfg.google, gc
        self.planned, self.recorder, self.now = planned, recorder, now
        self.classroom, self.drive = Classroom(gc), Drive(gc)
        self.org_id = planned.org_id
        self.rows: dict[tuple[str, str], dict[str, Any]] = {
            k: {"id": r.id, "external_id": r.external_id, "status": r.status, "state": dict(r.state or {})}
            for k, r in planned.rows.items()}
        self.adopted: set[str] = set()
        self.base = recorder.done
        self.finished: set[int] = set()  # id() of the plan's actions seen through
        self.followups: list[Action] = []
        self.refused: dict[str, ProviderError | None] = {}  # invitations refused as FAILED_PRECONDITION
        self.user_ids: dict[int, str] = {}
        self.loaded: dict[int, ExternalResource] = {}
        self.unsettled: list[tuple[str, str]] = []  # rows put whose id the store gives on commit
        with store.session() as s:
            self.staff = {u.id: u.email for u in s.scalars(select(StaffUser))}
            self.clients = {c.id: (c.email or "").lower() for c in
                            s.scalars(select(Client).where(Client.organisation_id == self.org_id))}
        self.codes = {c.code: c.client_id for g in planned.week_state.groups for c in g.clients}

    # ---- store ----
    def ext(self, kind: str, key: str) -> str | None:
        row = self.rows.get((kind, key))
        return row["external_id"] if row and row["status"] != "removed" else None

    def _row(self, s: Session, kind: str, key: str) -> ExternalResource | None:
        known = self.rows.get((kind, key))
        if not known:
            return None
        obj = known.get("obj")
        if obj is not None and obj in s:
            return obj  # type: ignore[no-any-return]
        row_id = known["id"] if known["id"] is not None else (obj.id if obj is not None else None)
        if row_id is None:
            return None
        held = self.loaded.get(row_id)
        return held if held is not None and held in s else s.get(ExternalResource, row_id)

    def put(self, s: Session, kind: str, key: str, *, external_id: str | None = None, status: str = "active",
            **state: Any) -> None:
        """Record a resource's external id, status and state; written when the session commits."""
        row = self._row(s, kind, key)
        if row is None:
            row = ExternalResource(organisation_id=self.org_id, kind=kind, local_key=key, state={})
            s.add(row)
        merged = {**(row.state or {}), **state}
        row.state = merged
        if external_id is not None:
            row.external_id = external_id
        row.status = status
        # No flush per row (a round trip each): ids are read from the object after the commit (settle).
        self.rows[(kind, key)] = {"id": row.id, "obj": row, "external_id": row.external_id, "status": status,
                                  "state": merged}
        self.unsettled.append((kind, key))

    def settle(self) -> None:
        """After a commit: keep each row put by its id, not the ORM object (with its session state,
        tens of thousands at 10,000 clients); the next batch loads the few it touches (preload)."""
        for k in self.unsettled:
            known = self.rows.get(k)
            obj = known.get("obj") if known else None
            if known is not None and obj is not None and obj.id is not None:
                known["id"] = obj.id
                del known["obj"]
        self.unsettled.clear()
        self.loaded = {}

    def forget(self, s: Session, kind: str, key: str) -> None:
        row = self._row(s, kind, key)
        self.rows.pop((kind, key), None)
        if row is not None:
            s.delete(row)

    def preload(self, s: Session, keys: list[tuple[str, str]]) -> None:
        """Load the rows a batch's results will touch in one query (the session's identity map)."""
        ids = [i for k in (self.rows.get(key) for key in keys) if k
               and (i := k.get("id") or getattr(k.get("obj"), "id", None)) is not None]
        # Held here: the session's identity map keeps only weak references.
        self.loaded = {r.id: r for r in s.scalars(select(ExternalResource).where(ExternalResource.id.in_(ids)))} \
            if ids else {}

    # ---- running steps in batches, recording after each batch ----
    def check_lease(self) -> None:
        """Stop (LeaseLost) before the next write when this run no longer holds its lock."""
        if self.lease is not None:
            self.lease.check()

    def run_steps(self, steps: list[Step], *, retry: bool = True) -> Lane:
        """Hand `steps` to the bucket queues (buckets.py); the lane resumes once each is answered
        and recorded (one store session per batch envelope)."""
        if steps:
            yield Wave(steps, retry)

    def advance(self, actions: list[Action]) -> None:
        """Progress: the plan's actions seen through, written once per batch or stage (not per item).

        An action may take several requests (create, adopt, patch) or none (a store-only update):
        each counts once, so the bar ends exactly at the plan's size.
        """
        self.finished.update(id(a) for a in actions)
        self.recorder.progress(self.base + min(len(self.finished), len(self.planned.plan.actions)))

    def save_user_ids(self, s: Session) -> None:
        """Clients' Google user ids learnt from enrolments, in one statement per batch."""
        if self.user_ids:
            s.execute(update(Client), [{"id": cid, "google_user_id": uid} for cid, uid in self.user_ids.items()])
            self.user_ids.clear()

    def fail(self, action: Action, err: ProviderError | str) -> None:
        if isinstance(err, NeedsReauth):
            raise err
        kind = type(err).__name__.lower() if isinstance(err, ProviderError) else "skipped"
        self.recorder.error(action.key, str(err), kind=kind)
        self.recorder.count(f"failed:{action.resource}")

    def ok(self, action: Action, what: str | None = None) -> None:
        self.recorder.count(what or f"{action.op}:{action.resource}")

    def desired(self, action: Action) -> Desired:
        return self.planned.desired[action.key]


    def owner_of(self, course_key: str) -> str | None:
        d = self.planned.desired.get(course_key)
        return self.staff.get(d.fp["owner"]) if d else None

    def course_spec(self, d: Desired) -> CourseSpec:
        return CourseSpec(d.detail["alias"], d.fp["name"], d.fp["section"], self.staff[d.fp["owner"]])

    # courses
