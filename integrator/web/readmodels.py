"""Read models shared by the JSON API and the pages: plain dicts, clients by code and id only."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from integrator.domain import weeks
from integrator.jobs.attendance.corrections import Outcome
from integrator.reports.corrections import CorrectionEvent, events
from integrator.reports.register import STATUS_LABEL
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
from integrator.web import access
from integrator.web.access import RunScope
from integrator.web.auth import Principal


def organisation_json(org: Organisation) -> dict[str, Any]:
    return {"id": org.id, "key": org.key, "name": org.name, "kind": org.kind.value}


def group_json(g: PeerGroup) -> dict[str, Any]:
    return {"id": g.id, "key": g.key, "name": g.name, "organisation_id": g.organisation_id,
            "coordinator_id": g.coordinator_id, "weekdays": list(g.weekdays),
            "meeting_start": g.meeting_start.strftime("%H:%M"), "meeting_end": g.meeting_end.strftime("%H:%M"),
            "meeting_provider": g.meeting_provider.value, "time_zone": g.time_zone, "active": g.active}


def period_json(p: Period) -> dict[str, Any]:
    return {"id": p.id, "service_model": p.service_model.value, "start_date": p.start_date.isoformat(),
            "end_date": p.end_date.isoformat(), "weekdays": list(p.weekdays), "hours_per_day": p.hours_per_day,
            "briefing_recorded": p.briefing_recorded_at is not None}


def client_json(c: Client, *, periods: list[Period] | None = None) -> dict[str, Any]:
    """`periods`: the ones the reader may see (access.visible_periods), listed when given."""
    # No email or phone: the API and pages show what the coordinator's work needs.
    out: dict[str, Any] = {"id": c.id, "code": c.code, "display_name": c.display_name,
                           "organisation_id": c.organisation_id, "plain_language": c.plain_language,
                           "digital_support": c.digital_support.value if c.digital_support else None}
    if periods is not None:
        out["periods"] = [period_json(p) for p in periods]
    return out


def client_with_periods(s: Session, p: Principal, c: Client) -> dict[str, Any]:
    return client_json(c, periods=access.visible_periods(s, p, c))


def work_day_json(wd: WorkDay) -> dict[str, Any]:
    return {"id": wd.id, "group_id": wd.group_id, "day": wd.day.isoformat(), "iso_week": wd.iso_week,
            "status": wd.status.value, "cancelled_reason": wd.cancelled_reason,
            "meeting_start": wd.meeting_start.isoformat(), "meeting_end": wd.meeting_end.isoformat(),
            "tasks": [t.title for t in wd.tasks]}


def run_json(run: JobRun, *, with_plan: bool = False, scope: RunScope | None = None) -> dict[str, Any]:
    """`scope`: a coordinator's view (access.run_scope). A run that is not wholly theirs (a nightly
    sync, a run over several groups) shows them its status, times, their own errors and plan items,
    but no counts or progress: those are the organisation's figures (`counts_hidden`)."""
    errors = [e for e in (run.errors or []) if scope is None or scope.allows_error(e)]
    hidden = scope is not None and not scope.owns_run(run)
    params = dict(run.params or {})
    if scope is not None and isinstance(params.get("groups"), list):
        params["groups"] = [k for k in params["groups"] if str(k) in scope.own]
    out: dict[str, Any] = {
        "id": run.id, "kind": run.kind, "organisation_id": run.organisation_id, "params": params,
        "dry_run": run.dry_run, "status": run.status.value,
        "triggered_by": run.triggered_by.split("#", 1)[0],
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "progress_done": None if hidden else run.progress_done,
        "progress_total": None if hidden else run.progress_total,
        "counts": {} if hidden else run.counts or {}, "counts_hidden": hidden, "errors": errors}
    if with_plan:
        out["plan"] = [a for a in (run.plan or []) if scope is None or scope.allows_action(a)]
    return out


def active_members(s: Session, p: Principal, group: PeerGroup, first: date, last: date) -> list[Client]:
    """Members of the group between the dates whom the principal may still see (a coordinator
    no longer sees a former member past the correction window, even in old weeks)."""
    members = (select(Membership.client_id)
               .where(Membership.group_id == group.id, Membership.start_date <= last,
                      or_(Membership.end_date.is_(None), Membership.end_date >= first)))
    return list(s.scalars(access.clients_query(p).where(Client.id.in_(members))))


def work_days(s: Session, group: PeerGroup, week: str) -> list[WorkDay]:
    return list(s.scalars(select(WorkDay).where(WorkDay.group_id == group.id, WorkDay.iso_week == week)
                          .order_by(WorkDay.day)))


def attendance_cell(ad: AttendanceDay | None) -> dict[str, Any] | None:
    if ad is None:
        return None
    return {"id": ad.id, "status": ad.status.value, "computed_status": ad.computed_status.value,
            "override_status": ad.override_status.value if ad.override_status else None,
            "override_reason": ad.override_reason, "minutes": ad.minutes,
            "evidence": ad.evidence or {},
            # Pending past its re-evaluation window: the coordinator decides (an override resolves it).
            "needs_decision": ad.override_status is None and (ad.evidence or {}).get("needs_decision") is True}


def attendance_grid(s: Session, p: Principal, group: PeerGroup, week: str) -> dict[str, Any]:
    days = work_days(s, group, week)
    dates = weeks.days_of(week)
    members = active_members(s, p, group, dates[0], dates[-1])
    cells: dict[tuple[int, int], AttendanceDay] = {}
    if days and members:
        rows = s.scalars(select(AttendanceDay).where(AttendanceDay.work_day_id.in_([d.id for d in days]),
                                                     AttendanceDay.client_id.in_([c.id for c in members])))
        cells = {(a.client_id, a.work_day_id): a for a in rows}
    return {
        "group": group_json(group), "week": week,
        "work_days": [work_day_json(d) for d in days],
        "rows": [{"client": client_json(c),
                  "days": [attendance_cell(cells.get((c.id, d.id))) for d in days]} for c in members],
    }


def _value(status: Any) -> str | None:
    return status.value if status is not None else None


def correction_json(o: Outcome) -> dict[str, Any]:
    """A correction's or a revert's outcome: the day's statuses after it, and whether it changed anything."""
    return {"client": o.client_code, "group": o.group, "day": o.day.isoformat(),
            "attendance_day_id": o.attendance_day_id, "status": _value(o.after), "before": _value(o.before),
            "computed_status": _value(o.computed), "override_status": _value(o.decision),
            "override_reason": o.reason, "changed": o.changed}


def correction_event_json(e: CorrectionEvent) -> dict[str, Any]:
    return {"at": e.at.isoformat(), "day": e.day.isoformat(), "group": e.group,
            "action": "reverted" if e.reverted else "decided", "from": _value(e.before), "to": _value(e.after),
            "computed": _value(e.computed), "reason": e.reason, "actor": e.actor, "staff_id": e.staff_id,
            "staff_name": e.staff_name}


def week_corrections(s: Session, group: PeerGroup, week: str, codes: set[str]) -> list[dict[str, Any]]:
    """The week's corrections of this group's days, for its visible clients, as Finnish lines."""
    days = weeks.days_of(week)
    out: list[dict[str, Any]] = []
    for e in events(s, group.organisation_id, days[0], days[-1], group_key=group.key):
        if e.client_code not in codes:
            continue
        at = e.local_at
        out.append({"day": f"{weeks.weekday_fi(e.day)} {e.day.day}.{e.day.month}.{e.day.year}",
                    "client": e.client_code, "reverted": e.reverted,
                    "from": STATUS_LABEL[e.before] if e.before else "ei arvioitu",
                    "to": STATUS_LABEL[e.after] if e.after else "ei arvioitu",
                    "computed": STATUS_LABEL[e.computed] if e.computed else "ei arvioitu",
                    "reason": e.reason, "who": e.staff_name or e.actor,
                    "at": f"{at.day}.{at.month}.{at.year} {at:%H:%M}"})
    return out
