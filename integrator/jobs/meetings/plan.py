"""The week's meetings, planned: who takes part, what each meeting should look like (its spec
and fingerprint) and the create / update / remove actions against our memory of them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from integrator.config import OrganisationConfig, Settings
from integrator.domain import participation
from integrator.domain.types import MeetingProvider, WorkDayStatus
from integrator.domain.weeks import week_monday
from integrator.jobs.plan import Action, Plan
from integrator.jobs.rendering import render
from integrator.providers.meetings import MeetingSpec
from integrator.store.db import Store
from integrator.store.models import Client, ExternalResource, Membership, Organisation, PeerGroup, WorkDay

KIND = "meeting"
RESOURCE = "meeting"
#: Events written before attendees were hidden from each other get one PATCH for it (F16).
HIDE_REASON = "osallistujien osoitteet piilotetaan toisilta"


def meeting_key(group_key: str, day: date) -> str:
    return f"meeting:{group_key}:{day.isoformat()}"


# ---- who takes part ------------------------------------------------------------------------


def takes_part(client: Client, membership: Membership, day: date) -> bool:
    """The one participation rule (integrator.domain.participation) for a loaded client."""
    return participation.takes_part(membership, client.periods, day)


def participants(group: PeerGroup, day: date) -> list[Client]:
    """Clients of `group` on `day`, sorted by code. Load memberships/clients/periods eagerly."""
    seen: dict[int, Client] = {}
    for m in group.memberships:
        if m.client_id not in seen and takes_part(m.client, m, day):
            seen[m.client_id] = m.client
    return sorted(seen.values(), key=lambda c: c.code)


def load_groups(s: Session, org_id: int, group_key: str | Collection[str] | None = None) -> list[PeerGroup]:
    """The organisation's groups, or only the one (or those) named."""
    q = (
        select(PeerGroup)
        .where(PeerGroup.organisation_id == org_id)
        .options(
            selectinload(PeerGroup.memberships).selectinload(Membership.client).selectinload(Client.periods),
            selectinload(PeerGroup.coordinator),
        )
        .order_by(PeerGroup.key)
    )
    if isinstance(group_key, str):
        q = q.where(PeerGroup.key == group_key)
    elif group_key is not None:
        q = q.where(PeerGroup.key.in_(sorted(group_key)))
    return list(s.scalars(q))


def organisation_id(s: Session, org_key: str) -> int:
    org_id = s.scalar(select(Organisation.id).where(Organisation.key == org_key))
    if org_id is None:
        raise LookupError(f"organisation {org_key!r} is not in the store; run `integrator config apply` first")
    return org_id


# ---- the desired meeting -------------------------------------------------------------------


def meeting_spec(org_cfg: OrganisationConfig, settings: Settings, group: PeerGroup, wd: WorkDay,
                 attendees: Iterable[Client]) -> MeetingSpec:
    if group.coordinator is None:
        raise LookupError(f"group {group.key} has no coordinator: the meeting needs an organiser")
    tz = group.time_zone
    # Where the day's task is: each client of an organisation on Microsoft 365 alone with task
    # folders has a folder of their own (jobs.weekly.sharepoint), so one shared event cannot link
    # it; the weekly letter carries each client's own link (jobs.notify.letters).
    own_folder = org_cfg.google is None and org_cfg.microsoft is not None and org_cfg.microsoft.task_folders is not None
    body = render(org_cfg.templates_dir, "meeting_body.html.j2", group_name=group.name, date=wd.day,
                  start=wd.meeting_start, end=wd.meeting_end, tz=tz, instructions=wd.instructions,
                  tasks=[t.title for t in wd.tasks], coordinator_name=group.coordinator.display_name,
                  own_task_folder=own_folder)
    offsets = settings.schedule.reminder_offsets_minutes
    return MeetingSpec(
        organizer=group.coordinator.email,
        subject=f"{group.name}: ryhmätapaaminen {wd.day.day}.{wd.day.month}.",
        body_html=body,
        start=wd.meeting_start,
        end=wd.meeting_end,
        attendees=tuple(sorted(c.email for c in attendees if c.email)),
        reminder_minutes=offsets[0] if offsets else 15,
        time_zone=tz,
    )


def fingerprint(provider: str, spec: MeetingSpec) -> str:
    data = {"provider": provider, "organizer": spec.organizer.lower(), "subject": spec.subject,
            "body": spec.body_html, "start": spec.start.isoformat(), "end": spec.end.isoformat(),
            "attendees": sorted(a.lower() for a in spec.attendees), "reminder": spec.reminder_minutes}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


def _changes(old: dict[str, Any], spec: MeetingSpec) -> list[str]:
    """What changed, in a coordinator's words (for the plan's reason)."""
    out = []
    if old.get("start") != spec.start.isoformat() or old.get("end") != spec.end.isoformat():
        out.append("aika muuttui")
    if sorted(old.get("attendees", [])) != sorted(a.lower() for a in spec.attendees):
        out.append("osallistujat muuttuivat")
    if not old.get("attendees_hidden"):
        out.append(HIDE_REASON)
    return out or ["sisältö muuttui"]


# ---- plan ----------------------------------------------------------------------------------


def plan_meetings(store: Store, settings: Settings, org_key: str, week: str,
                  group_key: str | Collection[str] | None = None) -> Plan:
    """Create, update or cancel each group's meeting of each work day in `week`."""
    org_cfg = settings.organisation(org_key)
    plan = Plan()
    monday = week_monday(week)
    with store.session() as s:
        org_id = organisation_id(s, org_key)
        groups = load_groups(s, org_id, group_key)
        by_id = {g.id: g for g in groups}
        days = list(s.scalars(
            select(WorkDay).where(WorkDay.group_id.in_(by_id), WorkDay.iso_week == week)
            .options(selectinload(WorkDay.tasks)).order_by(WorkDay.day)))
        keys = [meeting_key(g.key, monday + timedelta(days=i)) for g in groups for i in range(7)]
        existing = {r.local_key: r for r in s.scalars(select(ExternalResource).where(
            ExternalResource.organisation_id == org_id, ExternalResource.kind == KIND,
            ExternalResource.local_key.in_(keys)))}
        wanted: set[str] = set()
        for wd in days:
            group = by_id[wd.group_id]
            key = meeting_key(group.key, wd.day)
            row = existing.get(key)
            alive = row is not None and row.status in ("active", "pending")
            if wd.status == WorkDayStatus.CANCELLED or not group.active:
                reason = wd.cancelled_reason or ("ryhmä ei ole toiminnassa" if not group.active else "päivä peruttu")
                if alive:
                    plan.add(Action("remove", RESOURCE, key, group=group.key, reason=reason,
                                    detail={"work_day_id": wd.id}))
                else:
                    plan.add(Action("skip", RESOURCE, key, group=group.key, reason=reason))
                continue
            wanted.add(key)
            people = participants(group, wd.day)
            if not people:
                plan.add(Action("skip", RESOURCE, key, group=group.key, reason="ryhmässä ei ole osallistujia"))
                if alive:
                    plan.add(Action("remove", RESOURCE, key, group=group.key, reason="ei osallistujia",
                                    detail={"work_day_id": wd.id}))
                continue
            if group.coordinator is None:
                plan.add(Action("skip", RESOURCE, key, group=group.key, reason="ryhmällä ei ole ohjaajaa"))
                continue
            spec = meeting_spec(org_cfg, settings, group, wd, people)
            provider = group.meeting_provider.value
            fp = fingerprint(provider, spec)
            detail = {"work_day_id": wd.id, "provider": provider}
            if row is None or row.status != "active":
                why = "kesken jäänyt luonti" if row is not None and row.status == "pending" else "uusi työpäivä"
                plan.add(Action("create", RESOURCE, key, group=group.key, reason=why, detail=detail))
            elif row.state.get("provider") != provider:
                plan.add(Action("create", RESOURCE, key, group=group.key, reason="tapaamisalusta vaihtui",
                                detail={**detail, "replace": True}))
            elif str(row.state.get("organizer", "")).lower() != spec.organizer.lower():
                # The event lives on the old coordinator's calendar: cancel it there, make a new one.
                plan.add(Action("create", RESOURCE, key, group=group.key, reason="ohjaaja vaihtui",
                                detail={**detail, "replace": True}))
            elif row.state.get("fingerprint") != fp:
                plan.add(Action("update", RESOURCE, key, group=group.key,
                                reason=", ".join(_changes(row.state, spec)), detail=detail))
            elif not row.state.get("attendees_hidden"):
                # Made before the event hid its guests: every client saw every client's address.
                plan.add(Action("update", RESOURCE, key, group=group.key, reason=HIDE_REASON, detail=detail))
            elif not row.state.get("join_url"):
                # Meet creates the conference asynchronously; the link may come after the event.
                plan.add(Action("update", RESOURCE, key, group=group.key,
                                reason="tapaamislinkki puuttuu", detail={**detail, "resolve_only": True}))
            elif provider == MeetingProvider.TEAMS.value and not row.state.get("online_meeting_id"):
                plan.add(Action("update", RESOURCE, key, group=group.key,
                                reason="Teams-kokouksen tunniste puuttuu", detail={**detail, "resolve_only": True}))
        # A work day that no longer exists (deleted from the store) leaves no meeting behind.
        for key, row in existing.items():
            if key not in wanted and row.status in ("active", "pending") and not any(
                    a.key == key for a in plan.actions):
                plan.add(Action("remove", RESOURCE, key, group=key.split(":")[1], reason="työpäivää ei ole enää"))
    return plan

