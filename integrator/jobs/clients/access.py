"""A client's move or early end, followed in the tenants with the weekly setup's own plan and apply.

No new vendor calls: the weekly setup's plan (`jobs.weekly.setup.plan_org`) is computed for the
affected groups for the current and the next set-up week, narrowed to this one client (their
enrolments, folder, sharing and their place among the coursework's assignees), and applied by the
weekly setup's `Applier`. Whether the client still takes part is the weekly setup's rule
(`jobs.weekly.state.load_week`): a membership that ended before today, or a period ended early
on or before today, provisions nothing any more. The groups' future meetings are re-planned with
the meetings planner, and the client's queued future messages are cancelled in the outbox.
An organisation on Microsoft 365 alone with task folders follows the same way with the weekly
setup's SharePoint plan and apply (`jobs.weekly.sharepoint`): an early end takes the client's
permission on their folder away at once (the folder and its files stay).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, union, update
from sqlalchemy.orm import Session

from integrator.config import GoogleTenant, MicrosoftTenant, OrganisationConfig, Settings
from integrator.domain.types import MessageKind, OutboxStatus
from integrator.domain.weeks import iso_week_of, shift_week, week_monday
from integrator.jobs.meetings.apply import apply_meetings
from integrator.jobs.meetings.plan import plan_meetings
from integrator.jobs.notify.outbox import DUE
from integrator.jobs.plan import Action, Plan
from integrator.jobs.runs import RunRecorder
from integrator.jobs.weekly.apply import Applier
from integrator.jobs.weekly.plan import PlannedOrg
from integrator.jobs.weekly.setup import plan_org
from integrator.jobs.weekly.store_week import materialise_org_week
from integrator.providers.google.client import GoogleClient
from integrator.store.db import Store
from integrator.store.models import (
    Client,
    ExternalResource,
    Membership,
    Organisation,
    OutboxMessage,
    PeerGroup,
    Period,
    WorkDay,
)

if TYPE_CHECKING:  # msgraph is loaded only by an organisation with task folders (`_follow_task_folder`)
    from integrator.providers.microsoft.client import GraphClient

ClientFactory = Callable[[GoogleTenant], GoogleClient]
GraphFactory = Callable[[MicrosoftTenant], "GraphClient"]
#: `jobs.weekly.sharepoint.FOLDER_KIND`, here as a literal so that the nightly access step of an
#: organisation without task folders does not import the SharePoint side (and msgraph with it).
SP_FOLDER = "sp_folder"
CLIENT_RESOURCES = ("enrolment", "permission", "folder", "week_folder")
#: The outbox's `last_error` of a message cancelled by an early end: the undo queues exactly those again.
CANCELLED_BY_END = "client's period ended early (keskeytys)"
CHUNK = 500  # ids or keys per IN list: well under SQLite's bound parameter limit


def setup_weeks(today: date) -> list[str]:
    """The weeks a change follows at once: this week and the next (the weekly setup's own week)."""
    week = iso_week_of(today)
    return [week, shift_week(week, 1)]


def only_client(planned: PlannedOrg, code: str, keep: frozenset[str] = frozenset()) -> PlannedOrg:
    """The plan narrowed to one client: their own resources, and their place among the assignees.

    `keep`: the client's resources another followed week wants; not removed for this one (this
    week's plan would take away next week's new enrolment, and next week's this week's).
    Coursework is touched only in a week the weekly setup has already set up (its topic exists);
    otherwise the week's work comes with the weekly setup, for every client at once.
    """
    set_up = not any(a.resource == "topic" and a.op == "create" for a in planned.plan.actions)
    plan = Plan()
    for a in planned.plan.actions:
        if a.op == "remove" and a.key in keep:
            continue
        if a.resource == "week_folder" and not set_up:
            continue  # the week's folders come with its setup
        if a.resource in CLIENT_RESOURCES and a.client == code:
            plan.add(a)
        elif a.resource == "assignees" and set_up:
            add = [c for c in a.detail.get("add", []) if c == code]
            remove = [c for c in a.detail.get("remove", []) if c == code]
            if add or remove:
                plan.add(replace(a, client=code, reason=f"{'+' if add else '-'}{code}",
                                 detail={"add": add, "remove": remove}))
        elif a.resource == "coursework" and set_up and a.op == "create" \
                and code in planned.desired[a.key].detail.get("assignees", []):
            plan.add(a)  # a variant nobody in the new group had yet: it is made, as the setup would
        elif a.resource == "coursework" and set_up and a.op == "remove":
            row = planned.rows.get(("coursework", a.key))
            if row is not None and (row.state or {}).get("assignees") == [code]:
                plan.add(a)  # the client's own variant, nobody else's: it goes with them
    for n in planned.plan.notes:
        if n.client == code:
            plan.add(n)
    accepted = {k: v for k, v in planned.accepted.items() if k.rsplit(":", 1)[-1] == code}
    return replace(planned, plan=plan, accepted=accepted, duplicates={})


@dataclass
class Followed:
    """What following a change in the tenants did (or, in a preview, would do)."""

    tenant: Plan = field(default_factory=Plan)
    meetings: Plan = field(default_factory=Plan)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add_tenant(self, plan: Plan) -> None:
        seen = {(a.op, a.resource, a.key) for a in [*self.tenant.actions, *self.tenant.notes]}
        for a in [*plan.actions, *plan.notes]:
            if (a.op, a.resource, a.key) not in seen:
                self.tenant.add(a)
                seen.add((a.op, a.resource, a.key))


def follow_in_tenant(store: Store, settings: Settings, org_cfg: OrganisationConfig, code: str, groups: set[str],
                     now: datetime, today: date, factory: ClientFactory, recorder: RunRecorder | None,
                     out: Followed, graph: GraphFactory | None = None) -> None:
    """Plan (and with a `recorder`, apply) the client's Google resources (or SharePoint task
    folder) for the affected groups, for this week and the next: what either week wants is kept."""
    if org_cfg.google is None and org_cfg.microsoft is not None and org_cfg.microsoft.task_folders is not None:
        _follow_task_folder(store, settings, org_cfg, code, groups, now, today, recorder, out, graph)
        return
    if org_cfg.google is None:
        out.tenant.add(Action("skip", "organisation", f"organisation:{org_cfg.key}",
                              reason="no Google Workspace configured: courses and folders skipped"))
        return
    gc = factory(org_cfg.google)
    # The later week first: its plan removes the client from the coursework still to come before it
    # takes them out of the course (Classroom refuses to unassign someone no longer enrolled).
    weeks = [(week, group) for week in reversed(setup_weeks(today)) for group in sorted(groups)]
    first = [plan_org(store, settings, org_cfg, week, now, gc, group_keys=frozenset({group})) for week, group in weeks]
    keep = frozenset(key for p in first for key, d in p.desired.items() if d.client == code)
    if recorder is None:
        for p in first:
            out.add_tenant(only_client(p, code, keep).plan)
        return
    for week, group in weeks:  # planned again after each apply: each plan sees what the one before did
        planned = only_client(plan_org(store, settings, org_cfg, week, now, gc, group_keys=frozenset({group})), code, keep)
        out.add_tenant(planned.plan)
        if planned.plan.actions:
            Applier(store, org_cfg, gc, planned, recorder, now).apply()


def _follow_task_folder(store: Store, settings: Settings, org_cfg: OrganisationConfig, code: str,
                        groups: set[str], now: datetime, today: date, recorder: RunRecorder | None,
                        out: Followed, graph: GraphFactory | None) -> None:
    """The client's SharePoint folder, sharing and documents for the affected groups, this week
    and the next. The client's permission is removed only when neither week wants their folder."""
    # Imported here, not at the top: the SharePoint side and the Graph client load msgraph (~1.3 s,
    # tens of MB), which the nightly access step of a Google organisation must not pay for. Both are
    # below this layer (jobs.weekly, providers): this is lazy loading of a vendor SDK, as
    # jobs.nightly.run's `_harvest`, not a way round an import contract.
    from integrator.jobs.weekly.sharepoint import SharePointApplier, plan_sharepoint
    from integrator.jobs.weekly.sharepoint import only_client as only_client_folder
    from integrator.providers.microsoft.client import GraphClient

    assert org_cfg.microsoft is not None
    connect: GraphFactory = graph or (lambda tenant: GraphClient(tenant))
    weeks = [(week, group) for week in setup_weeks(today) for group in sorted(groups)]

    def planned(week: str, group: str, removals: bool) -> Any:
        ow = materialise_org_week(store, settings, org_cfg, week, now)
        return only_client_folder(plan_sharepoint(store, org_cfg, ow, now, frozenset({group})), code,
                                  removals=removals)

    wanted = any(code in planned(week, group, True).folders for week, group in weeks)
    if recorder is None:
        for week, group in weeks:
            out.add_tenant(planned(week, group, not wanted).plan)
        return
    with connect(org_cfg.microsoft) as gc:
        for week, group in weeks:  # planned again after each apply: each plan sees what the one before did
            sp = planned(week, group, not wanted)
            out.add_tenant(sp.plan)
            if sp.plan.actions:
                SharePointApplier(store, sp, gc, recorder, now, actor="system:client_change").apply()


def future_meetings(store: Store, settings: Settings, org_key: str, groups: set[str], today: date,
                    recorder: RunRecorder | None, out: Followed) -> None:
    """Re-plan the groups' meetings from today on: invitations follow the participation rule.

    Only meetings that exist are updated or cancelled; making the meetings of a week that is not
    set up yet is the weekly setup's business."""
    with store.session() as s:
        ids = list(s.scalars(select(PeerGroup.id).where(PeerGroup.key.in_(groups))))
        weeks = sorted(set(s.scalars(select(WorkDay.iso_week).where(WorkDay.group_id.in_(ids),
                                                                     WorkDay.day >= today))))
    for week in weeks:
        for group in sorted(groups):
            plan = Plan()
            for a in plan_meetings(store, settings, org_key, week, group).actions:
                if a.op in ("update", "remove") and date.fromisoformat(a.key.rsplit(":", 1)[-1]) >= today:
                    plan.add(a)
            out.meetings.extend(plan)
            if recorder is not None and plan.actions:
                apply_meetings(store, settings, org_key, plan, recorder)


def cancel_future_messages(s: Session, client_id: int, after: date) -> list[str]:
    """Cancel the client's queued letters of weeks after `after` and reminders of days after it.

    Returns their keys (pseudonymous: codes and ids), for the audit event and the undo."""
    keys: list[str] = []
    for m in s.scalars(select(OutboxMessage).where(
            OutboxMessage.client_id == client_id, OutboxMessage.status.in_(DUE),
            OutboxMessage.kind.in_((MessageKind.WEEKLY_LETTER, MessageKind.REMINDER))).order_by(OutboxMessage.id)):
        if m.kind == MessageKind.REMINDER:
            wd = s.get(WorkDay, m.work_day_id) if m.work_day_id is not None else None
            future = wd is not None and wd.day > after
        else:
            future = week_monday(m.key.rsplit(":", 1)[-1]) > after
        if future:
            m.status, m.last_error = OutboxStatus.CANCELLED, CANCELLED_BY_END
            keys.append(m.key)
    return keys


def requeue_messages(s: Session, keys: list[str]) -> int:
    """Queue again what an early end cancelled (the sender still checks each one before it goes)."""
    if not keys:
        return 0
    result = s.execute(update(OutboxMessage).where(
        OutboxMessage.key.in_(keys), OutboxMessage.status == OutboxStatus.CANCELLED,
        OutboxMessage.last_error == CANCELLED_BY_END).values(status=OutboxStatus.QUEUED, last_error=None))
    return int(getattr(result, "rowcount", 0) or 0)


def access_due_to_end(store: Store, org_key: str, today: date) -> dict[str, set[str]]:
    """Clients who still have a course enrolment or folder access that ended before today: client
    code -> the groups to follow. A membership that ended (a move from a date, an early end) ends
    its course enrolment; a period ended early, with no period going on, ends the folder access too
    (a Drive folder's permission, or the client's share of their SharePoint task folder).

    This runs every night for the whole organisation, so it starts from what ended (the clients
    with a membership ended, or a period ended early, before today: filtered in the store) and
    reads only their columns and their own access rows, by key: the work follows the moves and
    early ends, not the client count. An enrolment is only ever made for a member of the group
    (memberships are never deleted), so the keys of the client's groups find every one of them."""
    out: dict[str, set[str]] = {}
    with store.session() as s:
        org_id = s.scalar(select(Organisation.id).where(Organisation.key == org_key))
        left_group = select(Membership.client_id).where(Membership.end_date < today)
        ended_early = select(Period.client_id).where(Period.planned_end_date.is_not(None), Period.end_date < today)
        codes = {cid: code for cid, code in s.execute(select(Client.id, Client.code).where(
            Client.organisation_id == org_id, Client.id.in_(union(left_group, ended_early))))}
        if not codes:
            return out
        ids = list(codes)
        by_group: dict[int, dict[str, list[date | None]]] = {}  # client -> group key -> membership ends
        periods: dict[int, list[tuple[date | None, date]]] = {}  # client -> (planned end, end)
        for i in range(0, len(ids), CHUNK):
            some = ids[i:i + CHUNK]
            for cid, group, end in s.execute(select(Membership.client_id, PeerGroup.key, Membership.end_date)
                                             .join(PeerGroup, Membership.group_id == PeerGroup.id)
                                             .where(Membership.client_id.in_(some))):
                by_group.setdefault(cid, {}).setdefault(group, []).append(end)
            for cid, planned, end in s.execute(select(Period.client_id, Period.planned_end_date, Period.end_date)
                                               .where(Period.client_id.in_(some))):
                periods.setdefault(cid, []).append((planned, end))
        keys: dict[tuple[str, str], tuple[str, str | None]] = {}  # (kind, local key) -> (code, group)
        for cid, code in codes.items():
            for group in by_group.get(cid, {}):
                keys[("enrolment", f"enrolment:{group}:{code}")] = (code, group)
            keys[("permission", f"permission:{code}:client")] = (code, None)
            keys[(SP_FOLDER, f"folder:{code}")] = (code, None)
        enrolled: dict[str, set[str]] = {}
        wanted = list(keys)
        for i in range(0, len(wanted), CHUNK):
            part = wanted[i:i + CHUNK]
            for kind, key, state in s.execute(select(ExternalResource.kind, ExternalResource.local_key,
                                                     ExternalResource.state).where(
                    ExternalResource.organisation_id == org_id, ExternalResource.status == "active",
                    ExternalResource.kind.in_({k for k, _ in part}),
                    ExternalResource.local_key.in_([lk for _, lk in part]))):
                if (kind, key) not in keys or (kind == SP_FOLDER and "client" not in (state or {}).get("shared", [])):
                    continue
                holder, course_group = keys[(kind, key)]
                groups_of = enrolled.setdefault(holder, set())
                if course_group is not None:
                    groups_of.add(course_group)
        for cid, code in codes.items():
            if code not in enrolled:
                continue
            groups = by_group.get(cid, {})
            left = {g for g in enrolled[code] if groups.get(g) and all(
                end is not None and end < today for end in groups[g])}
            mine = periods.get(cid, [])
            ended = any(planned is not None and end < today for planned, end in mine)
            if ended and not any(end >= today for _, end in mine):
                left |= set(groups)
            if left:
                out[code] = left
    return out
