"""The desired Google state of one organisation for one week, computed from the store.

`load_week` reads groups, clients, periods and consent, and materialises the week's work days
and tasks in the given session (the caller commits, or rolls back for a dry run).
`desired_resources` turns that into the resources that should exist, each under our stable
local key, with a fingerprint of what matters about it. Names and emails stay in the store:
resources carry client codes and row ids only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from integrator.config import OrganisationConfig, Rules
from integrator.domain.calendar import SkippedDay, WeekCalendar, client_work_days
from integrator.domain.consent import has_consent
from integrator.domain.finnish import fi_date, fi_day
from integrator.domain.participation import takes_part
from integrator.domain.periods import END_REASONS
from integrator.domain.types import VariantKind
from integrator.domain.weeks import week_monday, weekday_fi
from integrator.jobs.weekly.tasks import (
    TaskFile,
    choose_variant,
    ensure_tasks,
    materialise_week,
    morning_and_end,
    started,
)
from integrator.providers.google.classroom import course_alias
from integrator.store.models import (
    Assignment,
    Client,
    ClientVariantChoice,
    Membership,
    Organisation,
    PeerGroup,
    Period,
    StaffUser,
    Task,
    TaskVariant,
)

SECTION = "Etäkuntouttava työtoiminta"


@dataclass(frozen=True)
class ClientWeek:
    client_id: int
    code: str
    email: str | None
    domain_user: bool
    consent: bool
    days: tuple[date, ...]  # the client's work days in this group this week
    variant: VariantKind | None  # the coordinator's choice
    plain_language: bool


@dataclass(frozen=True)
class TaskWeek:
    task_id: int
    position: int
    material_file_id: str | None
    variants: dict[VariantKind, tuple[str, str]]  # kind -> (title, instructions)


@dataclass(frozen=True)
class DayWeek:
    work_day_id: int
    day: date
    scheduled: datetime
    due: datetime
    tasks: tuple[TaskWeek, ...]


@dataclass
class GroupWeek:
    key: str
    name: str
    coordinator_id: int | None
    coordinator_email: str | None
    clients: list[ClientWeek] = field(default_factory=list)
    days: list[DayWeek] = field(default_factory=list)
    skipped: list[SkippedDay] = field(default_factory=list)
    moved: list[tuple[date, date]] = field(default_factory=list)
    cancelled: list[tuple[date, str]] = field(default_factory=list)
    frozen: list[tuple[date, str]] = field(default_factory=list)  # a change not made: the day has begun


@dataclass
class OrgWeek:
    org_id: int
    org_key: str
    week: str
    groups: list[GroupWeek] = field(default_factory=list)
    departed: dict[str, str] = field(default_factory=dict)  # client code -> why no longer provisioned
    # Clients not in a group this week who begin later (a past week planned today, a period not
    # yet begun): their access is none of this week's business and is kept. Code -> why.
    kept: dict[str, str] = field(default_factory=dict)
    placed: dict[str, list[tuple[str, str, date]]] = field(default_factory=dict)  # code -> [(group key, name, since)]


@dataclass(frozen=True)
class Desired:
    """One resource that should exist. `parent` is the local key it lives in."""

    kind: str  # course | topic | enrolment | folder | week_folder | permission | coursework
    key: str
    group: str | None
    client: str | None
    fp: dict[str, Any]
    parent: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def fingerprint(value: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _period_for(periods: list[Period], monday: date, sunday: date) -> Period | None:
    found = [p for p in periods if p.start_date <= sunday and p.end_date >= monday]
    return max(found, key=lambda p: p.start_date) if found else None


def load_week(s: Session, org_cfg: OrganisationConfig, week: str, now: datetime,
              task_file: TaskFile | None = None, bank: dict[str, str] | None = None, *,
              rules: Rules) -> OrgWeek:
    """The organisation's week; work days whose meeting has begun at `now` are kept as they are.
    `rules`: the organisation's (the coursework is due at the day's return deadline)."""
    org = s.scalars(select(Organisation).where(Organisation.key == org_cfg.key)).one()
    monday = week_monday(week)
    sunday = monday + timedelta(days=6)
    domain = (org_cfg.google.domain if org_cfg.google else "").lower()
    result = OrgWeek(org.id, org.key, week)
    choices = {c.client_id: c.kind for c in s.scalars(select(ClientVariantChoice))}
    groups = s.scalars(select(PeerGroup).where(PeerGroup.organisation_id == org.id, PeerGroup.active.is_(True))
                       .order_by(PeerGroup.key)).all()
    active_codes: set[str] = set()
    for group in groups:
        today = now.astimezone(ZoneInfo(group.time_zone)).date()
        coordinator = s.get(StaffUser, group.coordinator_id) if group.coordinator_id else None
        gw = GroupWeek(group.key, group.name, group.coordinator_id, coordinator.email if coordinator else None)
        wk = materialise_week(s, group, week, org_cfg.closure_days, now)
        gw.skipped, gw.moved, gw.cancelled, gw.frozen = wk.skipped, wk.moved, wk.cancelled, wk.frozen
        cal = WeekCalendar(week, [wd.day for wd in wk.days], wk.skipped)
        members = s.scalars(select(Membership).where(Membership.group_id == group.id, Membership.start_date <= sunday)
                            .options(selectinload(Membership.client).selectinload(Client.periods))).all()
        for m in sorted(members, key=lambda m: m.client.code):
            if m.end_date is not None and m.end_date < monday:
                continue
            client = m.client
            period = _period_for(list(client.periods), monday, sunday)
            if period is None:
                continue
            gone = _access_ended(m, period, today)
            if gone:
                # A move or an early end takes the access away on its day, not at the next week's
                # setup (DOMAIN.md: the client's access must end with the period).
                result.departed.setdefault(client.code, gone)
                continue
            end = min(period.end_date, m.end_date) if m.end_date else period.end_date
            # The calendar's days of the period and membership, narrowed by the one participation
            # rule (which also wants the briefing on or before each day), as meetings and attendance.
            days = [d for d in client_work_days(cal, max(period.start_date, m.start_date), end, list(period.weekdays))
                    if takes_part(m, client.periods, d)]
            email = (client.email or "").strip().lower() or None
            gw.clients.append(ClientWeek(client.id, client.code, email,
                                         bool(email and email.endswith("@" + domain)),
                                         has_consent(period.briefing_recorded_at), tuple(days),
                                         choices.get(client.id), client.plain_language))
            active_codes.add(client.code)
            result.placed.setdefault(client.code, []).append((group.key, group.name, m.start_date))
        for wd in wk.days:
            tasks = list(wd.tasks) if started(wd, now) else ensure_tasks(s, wd, group.key, task_file, bank,
                                                                         returned_in_task=org_cfg.google is not None)
            scheduled, due = morning_and_end(wd.day, group.time_zone, rules)
            gw.days.append(DayWeek(wd.id, wd.day, scheduled, due, tuple(_task_week(t) for t in tasks)))
        _sync_assignments(s, gw)
        result.groups.append(gw)
    _not_in_a_group(s, org.id, monday, sunday, active_codes, result)
    return result


def _access_ended(m: Membership, period: Period, today: date) -> str | None:
    """Why a member of this week is provisioned no more: the membership ended before today (moved
    to another group), or the period was ended early on or before today (keskeytys)."""
    if m.end_date is not None and m.end_date < today:
        return f"lähti ryhmästä {fi_date(m.end_date)}"
    if period.planned_end_date is not None and period.end_date <= today:
        return f"jakso keskeytyi {fi_date(period.end_date)} ({END_REASONS.get(period.end_reason or '', 'muu syy')})"
    return None


def _not_in_a_group(s: Session, org_id: int, monday: date, sunday: date, active_codes: set[str],
                    result: OrgWeek) -> None:
    """Clients with a membership in the organisation who are in no group this week: why, in Finnish.

    Departed (their enrolments and sharing are removed, after a confirmation) only when their
    time has really ended before the week: the membership ended, or every period did. A client
    who begins after the week (a past week set up today, a period or membership starting later)
    is kept as they are.
    """
    by_client: dict[str, tuple[Client, list[Membership]]] = {}
    for m in s.scalars(select(Membership).join(PeerGroup).where(PeerGroup.organisation_id == org_id)
                       .options(selectinload(Membership.client).selectinload(Client.periods))):
        by_client.setdefault(m.client.code, (m.client, []))[1].append(m)
    for code, (client, memberships) in sorted(by_client.items()):
        if code in active_codes or code in result.departed:
            continue
        later = [d for d in [*(p.start_date for p in client.periods), *(m.start_date for m in memberships)]
                 if d > sunday]
        if later:
            result.kept[code] = f"aloittaa vasta {fi_date(min(later))}: pääsy säilyy"
            continue
        ends = [m.end_date for m in memberships]
        if ends and all(e is not None and e < monday for e in ends):
            result.departed[code] = f"lähti ryhmästä {fi_date(max(e for e in ends if e is not None))}"
        elif _period_for(list(client.periods), monday, sunday) is None:
            last = max((p.end_date for p in client.periods), default=None)
            result.departed[code] = f"jakso päättyi {fi_date(last)}" if last else "asiakkaalla ei ole jaksoa"


def _task_week(task: Task) -> TaskWeek:
    variants = {v.kind: (v.title, v.instructions) for v in task.variants}
    if VariantKind.STANDARD not in variants:
        variants[VariantKind.STANDARD] = (task.title, "")
    return TaskWeek(task.id, task.position, task.material_file_id, variants)


def variant_for(c: ClientWeek, task: TaskWeek) -> VariantKind:
    return choose_variant(c.plain_language, c.variant, task.variants)


def _sync_assignments(s: Session, gw: GroupWeek) -> None:
    """Assignment rows: which variant of each task each taking-part client gets."""
    task_ids = [t.task_id for day in gw.days for t in day.tasks]
    if not task_ids:
        return
    existing: dict[tuple[int, int], Assignment] = {
        (a.task_id, a.client_id): a for a in s.scalars(select(Assignment).where(Assignment.task_id.in_(task_ids)))}
    variant_ids = {(v.task_id, v.kind): v.id for v in s.scalars(select(TaskVariant).where(
        TaskVariant.task_id.in_(task_ids)))}
    new: list[dict[str, int]] = []
    for day in gw.days:
        for task in day.tasks:
            for c in gw.clients:
                if not (c.consent and day.day in c.days):
                    continue
                vid = variant_ids.get((task.task_id, variant_for(c, task)))
                row = existing.pop((task.task_id, c.client_id), None)
                if vid is None:
                    continue
                if row is None:
                    new.append({"task_id": task.task_id, "client_id": c.client_id, "variant_id": vid})
                elif row.variant_id != vid:
                    row.variant_id = vid
    for row in existing.values():
        s.delete(row)
    if new:  # one statement for the group's new rows, not one per client and task
        s.execute(insert(Assignment), new)
    s.flush()


def topic_name(week: str) -> str:
    monday = week_monday(week)
    sunday = monday + timedelta(days=6)
    return f"Viikko {int(week[-2:])} ({monday.day}.{monday.month}.–{sunday.day}.{sunday.month}.{sunday.year})"


def coursework_title(day: date, title: str) -> str:
    return f"{weekday_fi(day)} {day.day}.{day.month}. {title}"


def day_notes(gw: GroupWeek) -> list[Desired]:
    """The group's days that do not take place (a holiday, a closure day) or that a change did not
    touch because they have begun: notes of the plan, whatever the organisation's tenants."""
    notes = [Desired("work_day", f"work_day:{gw.key}:{sk.day.isoformat()}", gw.key, None,
                     {"reason": f"{fi_day(sk.day)}: {sk.reason}"}) for sk in gw.skipped]
    notes += [Desired("work_day", f"work_day:{gw.key}:{day.isoformat()}", gw.key, None,
                      {"reason": f"{fi_day(day)}: {change}"}) for day, change in gw.frozen]
    return notes


def desired_resources(ow: OrgWeek, org_cfg: OrganisationConfig, now: datetime,
                      folder_owners: dict[str, int | None] | None = None) -> tuple[list[Desired], list[Desired]]:
    """(resources that should exist, notes of what is deliberately not provisioned).

    `folder_owners`: folder key -> staff id of the My Drive that already holds it. A folder stays
    where it was made; a new coordinator gets it shared instead.
    """
    owners = folder_owners or {}
    google = org_cfg.google
    assert google is not None
    out: list[Desired] = []
    notes: list[Desired] = []
    folders: dict[str, Desired] = {}
    perms: dict[str, Desired] = {}
    for gw in ow.groups:
        if gw.coordinator_id is None:
            notes.append(Desired("course", f"course:{gw.key}", gw.key, None, {"reason": "ryhmällä ei ole ohjaajaa"}))
            continue
        course = f"course:{gw.key}"
        out.append(Desired("course", course, gw.key, None,
                           {"name": gw.name, "section": SECTION, "owner": gw.coordinator_id},
                           detail={"alias": course_alias(ow.org_key, gw.key)}))
        topic = f"topic:{gw.key}:{ow.week}"
        out.append(Desired("topic", topic, gw.key, None, {"name": topic_name(ow.week)}, parent=course))
        notes.extend(day_notes(gw))
        ready = [c for c in gw.clients if c.consent]
        for c in gw.clients:
            if not c.consent:
                notes.append(Desired("client", f"client:{c.code}", gw.key, c.code,
                                     {"reason": "tietosuojaperehdytystä ei ole kirjattu: tunnuksia ei luoda"}))
            elif not c.email:
                notes.append(Desired("client", f"client:{c.code}", gw.key, c.code,
                                     {"reason": "ei sähköpostiosoitetta: kurssille ei voi liittää eikä kansiota jakaa"}))
        ready = [c for c in ready if c.email]
        for c in ready:
            mode = "student" if c.domain_user else "invitation"
            out.append(Desired("enrolment", f"enrolment:{gw.key}:{c.code}", gw.key, c.code, {"mode": mode},
                               parent=course, detail={"client_id": c.client_id}))
            folder = f"folder:{c.code}"
            if folder not in folders:
                parent = google.shared_drive_id or "root"
                owner = None if google.shared_drive_id else owners.get(folder, gw.coordinator_id)
                folders[folder] = Desired("folder", folder, gw.key, c.code, {"name": c.code},
                                          detail={"parent": parent, "owner": owner})
                week_folder = f"week_folder:{c.code}:{ow.week}"
                out.append(Desired("week_folder", week_folder, gw.key, c.code, {"name": ow.week}, parent=folder))
                perms[f"permission:{c.code}:client"] = Desired(
                    "permission", f"permission:{c.code}:client", gw.key, c.code, {"role": "writer"}, parent=folder,
                    detail={"client_id": c.client_id})
            owner_id = folders[folder].detail["owner"]
            if owner_id != gw.coordinator_id:
                key = f"permission:{c.code}:staff{gw.coordinator_id}"
                perms[key] = Desired("permission", key, gw.key, c.code, {"role": "writer"}, parent=folder,
                                     detail={"staff_id": gw.coordinator_id})
        out.extend(_coursework(ow, gw, ready, course, topic, now, notes))
    out.extend(folders.values())
    out.extend(perms.values())
    return out, notes


def _coursework(ow: OrgWeek, gw: GroupWeek, ready: list[ClientWeek], course: str, topic: str, now: datetime,
                notes: list[Desired]) -> list[Desired]:
    out: list[Desired] = []
    for day in gw.days:
        if day.due <= now:
            continue  # a day that is over gets no new work
        for task in day.tasks:
            by_variant: dict[VariantKind, list[str]] = {}
            for c in ready:
                if day.day in c.days:
                    by_variant.setdefault(variant_for(c, task), []).append(c.code)
            for kind, codes in sorted(by_variant.items()):
                title, instructions = task.variants[kind]
                key = f"coursework:{gw.key}:{ow.week}:wd{day.work_day_id}:t{task.position}:{kind.value}"
                fp = {"title": coursework_title(day.day, title), "text": fingerprint({"i": instructions}),
                      "scheduled": day.scheduled.isoformat(), "due": day.due.isoformat(),
                      "material": task.material_file_id}
                out.append(Desired("coursework", key, gw.key, None, fp, parent=course,
                                   detail={"topic": topic, "instructions": instructions,
                                           "assignees": sorted(codes), "variant": kind.value,
                                           "day": day.day.isoformat()}))
    return out
