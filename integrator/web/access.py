"""Authorization: what a principal may see. Every view fetches its objects through here.

A coordinator sees the groups they coordinate and, through them, those groups' clients,
work days, attendance and job runs. An admin sees their organisation (or all of them when
the admin has no organisation). Anything not visible is answered 404, so that a guessed id
reveals nothing about what exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import abort
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from integrator.store.models import (
    AttendanceDay,
    Client,
    JobRun,
    Membership,
    Organisation,
    PeerGroup,
    WorkDay,
)
from integrator.web.auth import Principal


def groups_query(p: Principal) -> Select[PeerGroup]:
    q = select(PeerGroup).order_by(PeerGroup.organisation_id, PeerGroup.key)
    if p.is_admin:
        if p.organisation_id is not None:
            q = q.where(PeerGroup.organisation_id == p.organisation_id)
        return q
    return q.where(PeerGroup.coordinator_id == p.staff_id)


def visible_groups(s: Session, p: Principal) -> list[PeerGroup]:
    return list(s.scalars(groups_query(p)))


def organisations_query(p: Principal) -> Select[Organisation]:
    q = select(Organisation).order_by(Organisation.key)
    if p.is_admin:
        if p.organisation_id is not None:
            q = q.where(Organisation.id == p.organisation_id)
        return q
    return q.where(Organisation.id.in_(select(PeerGroup.organisation_id)
                                       .where(PeerGroup.coordinator_id == p.staff_id)))


def require_admin(p: Principal) -> None:
    if not p.is_admin:
        abort(403, description="Vain ylläpitäjä voi tehdä tämän.")


def organisation_or_404(s: Session, p: Principal, org_id: int) -> Organisation:
    org = s.scalar(organisations_query(p).where(Organisation.id == org_id))
    if org is None:
        abort(404)
    return org


def group_or_404(s: Session, p: Principal, group_id: int) -> PeerGroup:
    group = s.scalar(groups_query(p).where(PeerGroup.id == group_id))
    if group is None:
        abort(404)
    return group


def clients_query(p: Principal) -> Select[Client]:
    q = select(Client).order_by(Client.code)
    if p.is_admin:
        if p.organisation_id is not None:
            q = q.where(Client.organisation_id == p.organisation_id)
        return q
    group_ids = select(PeerGroup.id).where(PeerGroup.coordinator_id == p.staff_id)
    return q.where(Client.id.in_(select(Membership.client_id).where(Membership.group_id.in_(group_ids))))


def client_or_404(s: Session, p: Principal, client_id: int) -> Client:
    client = s.scalar(clients_query(p).where(Client.id == client_id))
    if client is None:
        abort(404)
    return client


def work_day_or_404(s: Session, p: Principal, work_day_id: int) -> WorkDay:
    wd = s.get(WorkDay, work_day_id)
    if wd is None:
        abort(404)
    group_or_404(s, p, wd.group_id)
    return wd


def attendance_day_or_404(s: Session, p: Principal, attendance_day_id: int) -> AttendanceDay:
    ad = s.get(AttendanceDay, attendance_day_id)
    if ad is None:
        abort(404)
    work_day_or_404(s, p, ad.work_day_id)
    return ad


@dataclass(frozen=True)
class RunScope:
    """What of an organisation-wide run a coordinator may read: items of their own groups and
    clients, and organisation-level items (credentials, the run itself); never another group's."""

    own: frozenset[str]
    foreign: frozenset[str]

    def allows_item(self, item: str) -> bool:
        return not (set(re.split(r"[:/\s]+", item)) & self.foreign)

    def allows_action(self, action: dict[str, Any]) -> bool:
        group, client = action.get("group"), action.get("client")
        return (group is None or group in self.own) and (client is None or client in self.own) \
            and self.allows_item(str(action.get("key", "")))


def run_scope(s: Session, p: Principal, org_id: int | None) -> RunScope | None:
    """None: the principal reads runs whole (an admin)."""
    if p.is_admin:
        return None
    groups = list(s.scalars(select(PeerGroup).where(PeerGroup.organisation_id == org_id)))
    mine = [g.id for g in groups if g.coordinator_id == p.staff_id]
    own_codes = set(s.scalars(select(Client.code).join(Membership, Membership.client_id == Client.id)
                              .where(Membership.group_id.in_(mine))))
    all_codes = set(s.scalars(select(Client.code).where(Client.organisation_id == org_id)))
    own = {g.key for g in groups if g.id in mine} | own_codes
    foreign = ({g.key for g in groups} | all_codes) - own
    return RunScope(own=frozenset(own), foreign=frozenset(foreign))


def run_visible(s: Session, p: Principal, run: JobRun) -> bool:
    """Admins see runs of their organisations. A coordinator sees runs for their own groups and
    organisation-wide runs (nightly sync, scheduled setup) of organisations where they coordinate,
    the latter read through `run_scope`."""
    if p.is_admin:
        return p.organisation_id is None or run.organisation_id == p.organisation_id
    params: dict[str, Any] = run.params or {}
    group_key = params.get("group_key") or params.get("group")
    q = groups_query(p).where(PeerGroup.organisation_id == run.organisation_id)
    if isinstance(group_key, str):
        q = q.where(PeerGroup.key == group_key)
    return s.scalar(q.limit(1)) is not None


def job_run_or_404(s: Session, p: Principal, run_id: int) -> JobRun:
    run = s.get(JobRun, run_id)
    if run is None or not run_visible(s, p, run):
        abort(404)
    return run


def visible_runs(s: Session, p: Principal, *, kind: str | None = None, limit: int = 50) -> list[JobRun]:
    q = select(JobRun).order_by(JobRun.id.desc())
    if kind:
        q = q.where(JobRun.kind == kind)
    if p.is_admin and p.organisation_id is not None:
        q = q.where(JobRun.organisation_id == p.organisation_id)
    elif not p.is_admin:
        org_ids = [g.organisation_id for g in visible_groups(s, p)]
        q = q.where(JobRun.organisation_id.in_(org_ids))
    out: list[JobRun] = []
    # Coordinator filtering by group happens in Python (params is JSON); scan a bounded window.
    for run in s.scalars(q.limit(limit * 10)):
        if run_visible(s, p, run):
            out.append(run)
            if len(out) >= limit:
                break
    return out
