"""Authorization: what a principal may see. Every view fetches its objects through here.

A coordinator sees the groups they coordinate and, through them, those groups' clients,
work days, attendance and job runs. A client is seen only while they are a member of one of the
coordinator's groups, and for a short correction window after leaving it (`retention_start`);
never the periods of their time in another coordinator's group. An admin sees their organisation (or all of them when
the admin has no organisation). Anything not visible is answered 404, so that a guessed id
reveals nothing about what exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import abort
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from integrator.store.models import (
    AttendanceDay,
    Client,
    JobRun,
    Membership,
    Organisation,
    PeerGroup,
    Period,
    WorkDay,
)
from integrator.web import context
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


def retention_start(today: date) -> date:
    """The first day a former member's coordinator still sees them: the first of last month.

    A coordinator corrects attendance until the month's register is sent, so after a client moves
    on they still need the current and the previous calendar month of that client (last month's
    days may still be corrected); after that only the client's current coordinator sees them.
    """
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def _own_memberships(p: Principal, today: date) -> Select[int]:
    """Ids of the coordinator's memberships that are current, upcoming or inside the window."""
    group_ids = select(PeerGroup.id).where(PeerGroup.coordinator_id == p.staff_id)
    return select(Membership.id).where(Membership.group_id.in_(group_ids),
                                       or_(Membership.end_date.is_(None),
                                           Membership.end_date >= retention_start(today)))


def clients_query(p: Principal, today: date | None = None) -> Select[Client]:
    q = select(Client).order_by(Client.code)
    if p.is_admin:
        if p.organisation_id is not None:
            q = q.where(Client.organisation_id == p.organisation_id)
        return q
    # Not "any membership ever": a client who moved to another coordinator's group two months
    # ago is no longer this coordinator's business (a data-protection requirement).
    members = select(Membership.client_id).where(Membership.id.in_(_own_memberships(p, today or context.today())))
    return q.where(Client.id.in_(members))


def visible_client_ids(s: Session, p: Principal, client_ids: list[int]) -> set[int]:
    if not client_ids:
        return set()
    return set(s.scalars(clients_query(p).with_only_columns(Client.id).where(Client.id.in_(client_ids))))


def client_or_404(s: Session, p: Principal, client_id: int) -> Client:
    client = s.scalar(clients_query(p).where(Client.id == client_id))
    if client is None:
        abort(404)
    return client


def visible_periods(s: Session, p: Principal, client: Client) -> list[Period]:
    """The client's periods the principal may read: for a coordinator, those that overlap the
    client's time in one of the coordinator's groups (not the periods of another group's time)."""
    if p.is_admin:
        return list(client.periods)
    spans = [(m.start_date, m.end_date) for m in s.scalars(
        select(Membership).where(Membership.client_id == client.id,
                                 Membership.id.in_(_own_memberships(p, context.today()))))]
    return [per for per in client.periods
            if any(start <= per.end_date and (end is None or per.start_date <= end) for start, end in spans)]


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
    if not visible_client_ids(s, p, [ad.client_id]):
        abort(404)  # a former member, past the correction window
    return ad


@dataclass(frozen=True)
class RunScope:
    """What of an organisation-wide run a coordinator may read: items of their own groups and
    clients, and organisation-level items (credentials, the run itself); never another group's."""

    own: frozenset[str]
    foreign: frozenset[str]

    def allows_item(self, item: str) -> bool:
        return not (set(re.split(r"[:/\s]+", item)) & self.foreign)

    def allows_error(self, error: dict[str, Any]) -> bool:
        """An error item that names its owner (a send run's message: group key, client code) is
        read by that group's coordinator only, and never when it names neither; a message key
        may carry a client id instead of a code, so its words alone cannot tell."""
        if "group" in error or "client" in error:
            group, client = error.get("group"), error.get("client")
            return (group is not None or client is not None) and self.allows_action(
                {"group": group, "client": client, "key": error.get("item", "")})
        return self.allows_item(str(error.get("item", "")))

    def owns_run(self, run: JobRun) -> bool:
        """Whether every group the run names is the reader's: then its counts and progress are
        theirs to read. An organisation-wide run (nightly sync: no group named) or one that also
        covers another coordinator's group is read without them: its counts are organisation-wide
        and recomputing them per group would mean re-deriving every job's counters from its plan."""
        keys = run_group_keys(run)
        return bool(keys) and keys <= self.own

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
    own_codes = set(s.scalars(clients_query(p).with_only_columns(Client.code)
                              .where(Client.organisation_id == org_id)))
    all_codes = set(s.scalars(select(Client.code).where(Client.organisation_id == org_id)))
    own = {g.key for g in groups if g.id in mine} | own_codes
    foreign = ({g.key for g in groups} | all_codes) - own
    return RunScope(own=frozenset(own), foreign=frozenset(foreign))


def run_visible(s: Session, p: Principal, run: JobRun) -> bool:
    """Admins see runs of their organisations. A coordinator sees runs for their own groups and
    organisation-wide runs (nightly sync, scheduled setup) of organisations where they coordinate,
    the latter read through `run_scope`: only their own errors and plan items, status and times,
    and no counts or progress (those are organisation-wide figures; `RunScope.owns_run`)."""
    return bool(runs_visible(s, p, [run]))


def runs_visible(s: Session, p: Principal, runs: list[JobRun],
                 groups: list[PeerGroup] | None = None) -> list[JobRun]:
    """The runs of `runs` the principal may see (as `run_visible`), in one read of their groups
    (none when `groups`, the principal's visible groups, are given): a page listing runs costs
    the same number of statements however many runs it looks at."""
    if p.is_admin:
        return [r for r in runs if p.organisation_id is None or r.organisation_id == p.organisation_id]
    own: dict[int, set[str]] = {}
    for g in groups if groups is not None else visible_groups(s, p):
        own.setdefault(g.organisation_id, set()).add(g.key)
    return [r for r in runs if r.organisation_id in own and _names_own_group(r, own[r.organisation_id])]


def run_group_keys(run: JobRun) -> set[str]:
    """The groups a run names in its params; empty for an organisation-wide run."""
    params: dict[str, Any] = run.params or {}
    group_key = params.get("group_key") or params.get("group")
    if isinstance(group_key, str):
        return {group_key}
    if isinstance(params.get("groups"), list):
        return {str(k) for k in params["groups"]}
    return set()


def _names_own_group(run: JobRun, own_keys: set[str]) -> bool:
    keys = run_group_keys(run)
    # One run for several groups: any of them is theirs (read through run_scope, without counts).
    return not keys or bool(own_keys & keys)


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
    # Coordinator filtering by group happens in Python (params is JSON); scan a bounded window.
    return runs_visible(s, p, list(s.scalars(q.limit(limit * 10))))[:limit]
