"""The dashboard's to-do list: what needs the coordinator's attention first.

Each kind of to-do is one read (or one per organisation) over all the principal's groups, never
one per group or per day: the page costs the same number of statements for 10 groups and 1,000.
Clients appear by their pseudonymous code only, and only those the principal may see
(`access.clients_query`: a former member drops out after the correction window).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, load_only

from integrator.config import ConfigError, Rules
from integrator.domain import weeks
from integrator.domain.attendance import absence_streaks
from integrator.domain.types import AttendanceStatus, JobStatus, MessageKind, OutboxStatus, WorkDayStatus
from integrator.jobs.attendance.alerts import absence_register, alert_days
from integrator.jobs.attendance.identity import unmatched_attendees
from integrator.store.db import Store
from integrator.store.models import (
    AttendanceDay,
    Client,
    JobRun,
    MeetingAttendance,
    Organisation,
    OutboxMessage,
    PeerGroup,
    WorkDay,
)
from integrator.web import access
from integrator.web.auth import Principal

# A PENDING day whose meeting ended longer ago than this is waiting for someone: the report
# normally arrives within hours, and a day still unknown after that blocks the month's register.
PENDING_GRACE = timedelta(days=1)
STREAK_READ = timedelta(days=21)  # the days read for absence streaks
STREAK_RECENT = timedelta(days=14)  # a streak that ended before this is history, not a to-do
ALERTS_SHOWN = timedelta(days=30)
RUNS_SHOWN = timedelta(days=14)
LIST_MAX = 20  # items listed per section; the heading counts all of them

MESSAGE_KIND_FI = {MessageKind.WEEKLY_LETTER: "viikkokirje", MessageKind.REMINDER: "muistutus",
                   MessageKind.ABSENCE_ALERT: "poissaolohälytys",
                   MessageKind.ABSENCE_ALERT_CORRECTION: "hälytyksen korjaus"}
OUTBOX_STATUS_FI = {OutboxStatus.QUEUED: "jonossa", OutboxStatus.SENDING: "lähtemässä",
                    OutboxStatus.SENT: "lähetetty", OutboxStatus.PARKED: "odottaa lähetysrajaa",
                    OutboxStatus.FAILED: "epäonnistui", OutboxStatus.CANCELLED: "peruttu",
                    OutboxStatus.UNCERTAIN: "epävarma, tarkistettava"}


@dataclass
class Todo:
    unmatched: list[dict[str, Any]] = field(default_factory=list)  # per group
    decisions: list[dict[str, Any]] = field(default_factory=list)  # per group
    streaks: list[dict[str, Any]] = field(default_factory=list)  # per client and streak
    alerts: list[dict[str, Any]] = field(default_factory=list)
    setup: list[dict[str, Any]] = field(default_factory=list)  # per week not set up for some groups
    runs: list[dict[str, Any]] = field(default_factory=list)
    uncertain: list[dict[str, Any]] = field(default_factory=list)
    # group id -> {"unmatched": n, "decisions": n}: the badges of the group list
    by_group: dict[int, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))

    def counts(self) -> dict[str, int]:
        return {"unmatched": sum(u["count"] for u in self.unmatched),
                "decisions": sum(d["count"] for d in self.decisions),
                "streaks": len(self.streaks), "alerts": len(self.alerts),
                "setup": sum(w["count"] for w in self.setup), "runs": len(self.runs),
                "uncertain": len(self.uncertain)}


def _group_ids(p: Principal) -> Select[int]:
    return access.groups_query(p).with_only_columns(PeerGroup.id).order_by(None)


def _client_ids(p: Principal, today: date) -> Select[int]:
    return access.clients_query(p, today).with_only_columns(Client.id).order_by(None)


def read_todo(store: Store, s: Session, p: Principal, groups: list[PeerGroup], *, now: datetime, today: date,
              rules: dict[int, Rules]) -> Todo:
    """`groups`: the principal's visible groups; `rules`: each organisation's rules (streak length)."""
    todo = Todo()
    if not groups:
        return todo
    by_id = {g.id: g for g in groups}
    org_ids = sorted({g.organisation_id for g in groups})
    _unmatched(store, s, p, by_id, org_ids, todo)
    _decisions(s, p, by_id, now, today, todo)
    _streaks_and_alerts(s, p, org_ids, now, today, rules, todo)
    _setup(s, groups, today, todo)
    _runs(s, p, groups, now, todo)
    _uncertain(s, p, org_ids, today, todo)
    return todo


def _unmatched(store: Store, s: Session, p: Principal, by_id: dict[int, PeerGroup], org_ids: list[int],
               todo: Todo) -> None:
    # The one rule for "unmatched" (staff and organisers left out) reads per organisation.
    found = [u for org in org_ids for u in unmatched_attendees(store, org)]
    if not found:
        return
    days = s.execute(select(WorkDay.id, WorkDay.group_id, WorkDay.iso_week).where(
        WorkDay.group_id.in_(_group_ids(p)),
        WorkDay.id.in_(select(MeetingAttendance.work_day_id).where(
            MeetingAttendance.client_id.is_(None), MeetingAttendance.organisation_id.in_(org_ids))))).all()
    day_group = {d.id: (d.group_id, d.iso_week) for d in days}
    per_group: dict[int, set[tuple[str, str]]] = defaultdict(set)
    latest: dict[int, str] = {}
    for u in found:
        for wd in u.work_day_ids:
            if wd in day_group:
                gid, week = day_group[wd]
                per_group[gid].add((u.source, u.participant_key))
                latest[gid] = max(latest.get(gid, week), week)
    for gid, keys in sorted(per_group.items(), key=lambda kv: by_id[kv[0]].name):
        todo.unmatched.append({"group": by_id[gid], "count": len(keys), "week": latest[gid]})
        todo.by_group[gid]["unmatched"] = len(keys)


def _decisions(s: Session, p: Principal, by_id: dict[int, PeerGroup], now: datetime, today: date,
               todo: Todo) -> None:
    """PENDING days nobody decided: flagged `needs_decision` by the evaluation, or whose meeting
    ended over a day ago. Read from the first day a coordinator still corrects (last month)."""
    flagged = AttendanceDay.evidence["needs_decision"].as_boolean()
    rows = s.execute(
        select(WorkDay.group_id, func.count(), func.min(WorkDay.day))
        .join(AttendanceDay, AttendanceDay.work_day_id == WorkDay.id)
        .where(WorkDay.group_id.in_(_group_ids(p)), WorkDay.status == WorkDayStatus.PLANNED,
               WorkDay.day >= access.retention_start(today), WorkDay.meeting_end < now,
               AttendanceDay.computed_status == AttendanceStatus.PENDING, AttendanceDay.override_status.is_(None),
               AttendanceDay.client_id.in_(_client_ids(p, today)),
               or_(flagged.is_(True), WorkDay.meeting_end < now - PENDING_GRACE))
        .group_by(WorkDay.group_id)).all()
    for gid, count, oldest in sorted(rows, key=lambda r: by_id[r[0]].name):
        todo.decisions.append({"group": by_id[gid], "count": count, "oldest": oldest,
                               "week": weeks.iso_week_of(oldest)})
        todo.by_group[gid]["decisions"] = count


def _streaks_and_alerts(s: Session, p: Principal, org_ids: list[int], now: datetime, today: date,
                        rules: dict[int, Rules], todo: Todo) -> None:
    visible = _client_ids(p, today)
    alerts = list(s.execute(
        select(OutboxMessage, Client.code).join(Client, OutboxMessage.client_id == Client.id)
        .options(load_only(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.status, OutboxMessage.key,
                           OutboxMessage.meta, OutboxMessage.created_at, OutboxMessage.sent_at,
                           OutboxMessage.client_id))
        .where(OutboxMessage.organisation_id.in_(org_ids), OutboxMessage.client_id.in_(visible),
               OutboxMessage.kind.in_([MessageKind.ABSENCE_ALERT, MessageKind.ABSENCE_ALERT_CORRECTION]),
               OutboxMessage.created_at >= now - ALERTS_SHOWN)
        .order_by(OutboxMessage.id.desc())).all())
    corrections = {(m.meta or {}).get("alert"): m for m, _ in alerts if m.kind is MessageKind.ABSENCE_ALERT_CORRECTION}
    told: dict[int, list[tuple[set[date], OutboxMessage]]] = defaultdict(list)
    for m, code in alerts:
        if m.kind is not MessageKind.ABSENCE_ALERT:
            continue
        days = alert_days(m)
        told[m.client_id or 0].append((set(days), m))
        fix = corrections.get(m.id)
        todo.alerts.append({"code": code, "days": days, "status": OUTBOX_STATUS_FI[m.status],
                            "withdrawn": bool((m.meta or {}).get("withdrawn")), "at": m.sent_at or m.created_at,
                            "correction": OUTBOX_STATUS_FI[fix.status] if fix is not None else None})
    # Only clients with enough absences in the window can have a streak: the register (and who
    # is expected) is read for them alone, not for every client of every group.
    threshold = min((rules[org].absence_alert_streak for org in org_ids), default=2)
    candidates = (select(AttendanceDay.client_id).join(WorkDay, AttendanceDay.work_day_id == WorkDay.id)
                  .where(WorkDay.group_id.in_(_group_ids(p)), WorkDay.day >= today - STREAK_READ,
                         AttendanceDay.client_id.in_(visible),
                         or_(AttendanceDay.computed_status == AttendanceStatus.ABSENT,
                             AttendanceDay.override_status == AttendanceStatus.ABSENT))
                  .group_by(AttendanceDay.client_id).having(func.count() >= threshold))
    codes: dict[int, str] = dict(s.execute(select(Client.id, Client.code).where(  # type: ignore[arg-type]
        Client.id.in_(candidates), Client.organisation_id.in_(org_ids))).all())
    if not codes:
        return
    for org in org_ids:
        register = absence_register(s, org, start=today - STREAK_READ, today=today, groups=_group_ids(p),
                                    clients=candidates)
        for client_id, statuses in register.items():
            if client_id not in codes:
                continue
            for streak in absence_streaks(sorted(statuses.items()), rules[org].absence_alert_streak):
                if streak[-1] < today - STREAK_RECENT:
                    continue
                alert = next((m for days, m in told[client_id] if days & set(streak)), None)
                todo.streaks.append({"code": codes[client_id], "days": streak,
                                     "alert": OUTBOX_STATUS_FI[alert.status] if alert is not None else None})
    todo.streaks.sort(key=lambda x: (-len(x["days"]), x["code"]))


def _setup(s: Session, groups: list[PeerGroup], today: date, todo: Todo) -> None:
    """This week and next: groups no applied weekly setup (`JobRun` weekly_setup, params.week)
    covered. A run for one group names it; one for several lists them; else the whole organisation."""
    for week in (weeks.iso_week_of(today), weeks.week_after(today)):
        runs = s.scalars(select(JobRun).options(load_only(JobRun.id, JobRun.organisation_id, JobRun.params))
                         .where(JobRun.kind == "weekly_setup", JobRun.dry_run.is_(False),
                                JobRun.status.in_([JobStatus.SUCCEEDED, JobStatus.PARTIAL]),
                                JobRun.params["week"].as_string() == week)).all()
        covered_orgs: set[int | None] = set()
        covered: set[tuple[int | None, str]] = set()
        for r in runs:
            params = r.params or {}
            keys = params.get("groups") or ([params["group"]] if params.get("group") else None) \
                or ([params["group_key"]] if params.get("group_key") else None)
            if keys:
                covered |= {(r.organisation_id, str(k)) for k in keys}
            else:
                covered_orgs.add(r.organisation_id)
        missing = [g for g in groups if g.active and None not in covered_orgs and g.organisation_id not in covered_orgs
                   and (g.organisation_id, g.key) not in covered]
        if missing:
            todo.setup.append({"week": week, "count": len(missing), "groups": missing[:LIST_MAX],
                               "this_week": week == weeks.iso_week_of(today)})


def _runs(s: Session, p: Principal, groups: list[PeerGroup], now: datetime, todo: Todo) -> None:
    q = (select(JobRun).options(load_only(JobRun.id, JobRun.organisation_id, JobRun.params, JobRun.kind,
                                          JobRun.status, JobRun.dry_run, JobRun.started_at))
         .where(JobRun.status.in_([JobStatus.FAILED, JobStatus.PARTIAL]), JobRun.started_at >= now - RUNS_SHOWN)
         .order_by(JobRun.id.desc()).limit(LIST_MAX * 10))
    if p.organisation_id is not None or not p.is_admin:
        q = q.where(JobRun.organisation_id.in_({g.organisation_id for g in groups}))
    for r in access.runs_visible(s, p, list(s.scalars(q)), groups)[:LIST_MAX]:
        todo.runs.append({"id": r.id, "kind": r.kind, "status": r.status.value, "dry_run": r.dry_run,
                          "started_at": r.started_at})


def _uncertain(s: Session, p: Principal, org_ids: list[int], today: date, todo: Todo) -> None:
    """Messages that may have gone: a person checks the sender's Sent Items before anything is resent."""
    q = (select(OutboxMessage.id, OutboxMessage.key, OutboxMessage.kind, OutboxMessage.created_at, Client.code)
         .outerjoin(Client, OutboxMessage.client_id == Client.id)
         .where(OutboxMessage.status == OutboxStatus.UNCERTAIN, OutboxMessage.organisation_id.in_(org_ids))
         .order_by(OutboxMessage.id))
    if not p.is_admin:
        q = q.where(or_(OutboxMessage.client_id.in_(_client_ids(p, today)),
                        OutboxMessage.work_day_id.in_(select(WorkDay.id).where(WorkDay.group_id.in_(_group_ids(p))))))
    for r in s.execute(q).all():
        todo.uncertain.append({"key": r.key, "kind": MESSAGE_KIND_FI.get(r.kind, str(r.kind)), "code": r.code,
                               "at": r.created_at})


def organisation_rules(s: Session, org_ids: list[int], rules_for: Any) -> dict[int, Rules]:
    """Each organisation's rules by id; `rules_for(key)` raises LookupError when the configuration
    cannot say (no file): the streak length then is the rules' default, as the alerts' own."""
    out: dict[int, Rules] = {}
    for org_id, key in s.execute(select(Organisation.id, Organisation.key).where(Organisation.id.in_(org_ids))):
        try:
            out[org_id] = rules_for(key)
        except (LookupError, ConfigError, OSError):
            out[org_id] = Rules()
    return out
