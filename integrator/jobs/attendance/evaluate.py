"""Attendance days from stored evidence: evaluate them (a coordinator's corrections: `corrections`).

Everything here reads and writes the store only, so the register can be recomputed at any
time from the raw evidence the harvest kept. The sync re-evaluates a window of recent days
(late reports, late mappings) but never touches a coordinator's decision (`override_*`).

A day that is no longer expected (the period was shortened, its weekdays or the membership
changed) is withdrawn when its work day is re-evaluated: a computed-only row is deleted, with
an `attendance.withdrawn` audit event that keeps what it said, so it can no longer be paid. The
raw evidence stays in the store, so the day comes back if it becomes expected again. A row with
a coordinator's decision is kept: the decision stands, and the register shows it as such.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.config import Rules
from integrator.domain.attendance import DayEvidence, evaluate_day, minutes_present, return_deadline
from integrator.domain.types import AttendanceStatus, WorkDayStatus
from integrator.jobs.attendance.incremental import (
    clock_flags,
    days_to_evaluate,
    read_inputs,
    read_rows,
    stamp,
    window_register,
)
from integrator.jobs.attendance.markers import LEGACY_NO_REPORT as LEGACY_NO_REPORT
from integrator.jobs.attendance.markers import REPORT_KIND as REPORT_KIND
from integrator.jobs.attendance.markers import is_final_report as is_final_report
from integrator.jobs.attendance.markers import report_key as report_key
from integrator.reports.expected import expected_pairs
from integrator.store.db import Store
from integrator.store.models import (
    AttendanceDay,
    AuditEvent,
    Client,
    ExternalResource,
    MeetingAttendance,
    PeerGroup,
    Submission,
    WorkDay,
)
from integrator.store.types import utcnow

#: Submission states that are a return of the work (Classroom states; Drive files are "added").
RETURNED_STATES = frozenset({"TURNED_IN", "RETURNED", "added"})
# --- evidence ---------------------------------------------------------------------------


def _interval(pair: Any) -> tuple[datetime, datetime] | None:
    """One stored session as aware datetimes, or None when it is not usable evidence.

    Unparseable, naive (ambiguous by two or three hours in Finland) and reversed (leaves before
    it joins) sessions are all rejected here, one by one: the domain's `minutes_present` raises
    on them, and one corrupt record must not stop the evaluation of the whole organisation.
    The caller counts the rejected sessions into the day's evidence for the coordinator.
    """
    try:
        a, b = pair
        start, end = datetime.fromisoformat(a), datetime.fromisoformat(b)
    except (TypeError, ValueError):
        return None
    if start.tzinfo is None or end.tzinfo is None or end < start:
        return None
    return start, end


def rejected_reason(count: int) -> str:
    """The Finnish note a coordinator sees when sessions of the day were not counted."""
    return (f"{count} kokousistuntoa hylätty virheellisinä (aika puuttuu, ilman aikavyöhykettä "
            "tai päättyy ennen alkua); tarkista päivä ja korjaa tarvittaessa")


def rules_snapshot(rules: Rules) -> dict[str, Any]:
    """The rules a day was evaluated with, kept in its evidence; the daily compensation rate is
    part of it so that a past month is reported at the rate in force (see reports.register)."""
    return {"attendance_min_minutes": rules.attendance_min_minutes,
            "task_return_counts_as_present": rules.task_return_counts_as_present,
            "daily_compensation_eur": rules.daily_compensation_eur,
            "day_return_deadline": rules.day_return_deadline.strftime("%H:%M")}


def _snapshot_for(row: AttendanceDay | None, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot for a re-evaluated row: its first recorded rate is kept (the rate in force
    when the day was first evaluated, the night after it), so that a re-evaluation window that
    crosses a rate change does not re-price the days before the change."""
    old = (row.evidence or {}).get("rules") if row is not None else None
    if isinstance(old, dict) and "daily_compensation_eur" in old:
        return {**snapshot, "daily_compensation_eur": old["daily_compensation_eur"]}
    return snapshot


@dataclass
class _Bundle:
    meetings: list[MeetingAttendance] = field(default_factory=list)
    returns: list[Submission] = field(default_factory=list)


def _evidence_for(wd: WorkDay, bundle: _Bundle, report_in: bool, deadline: datetime, now: datetime,
                  last_evaluation: bool) -> tuple[DayEvidence, dict[str, Any]]:
    """The day's evidence; `deadline` its return deadline in the group's local time, `now` the
    sync's clock, `last_evaluation` whether the re-evaluation window closes for it now."""
    intervals: list[tuple[datetime, datetime]] = []
    fallback_seconds = 0
    rejected = 0
    for m in bundle.meetings:
        raw = list(m.intervals or [])
        parsed = [iv for iv in (_interval(p) for p in raw) if iv is not None]
        rejected += len(raw) - len(parsed)
        if parsed:
            intervals.extend(parsed)
        else:
            # No usable session: the vendor's own total for the record, as for a record
            # that never listed sessions (never negative, whatever the vendor sent).
            fallback_seconds = max(fallback_seconds, m.seconds)
    # Time before the scheduled start or after the end does not count (lobby, staying on).
    minutes = minutes_present(intervals, (wd.meeting_start, wd.meeting_end)) if intervals else 0
    minutes = max(minutes, fallback_seconds // 60 if not intervals else 0)
    returned = [s for s in bundle.returns if s.state in RETURNED_STATES and s.returned_at is not None]
    on_time = [s for s in returned if not s.late]
    late = [s for s in returned if s.late]
    # A stored attendance record of the client is final too: records are stored only from a
    # published report (Teams) or an ended conference record (Meet).
    ev = DayEvidence(meeting_minutes=minutes, attendance_final=report_in or bool(bundle.meetings),
                     task_returned_on_time=bool(on_time), task_returned_late=bool(late) and not on_time,
                     deadline_passed=now >= deadline, deadline=deadline, last_evaluation=last_evaluation)
    details = {
        "meeting": {"report_available": ev.attendance_final, "minutes": minutes,
                    "records": sorted(m.id for m in bundle.meetings),
                    "sources": sorted({m.source for m in bundle.meetings}),
                    "via_phone": any(m.via_phone for m in bundle.meetings),
                    "rejected_intervals": rejected},
        "returns": [{"source": s.source, "at": s.returned_at.isoformat() if s.returned_at else None,
                     "late": s.late, "mime_type": s.mime_type, "state": s.state} for s in returned],
        "deadline": deadline.isoformat(),
    }
    return ev, details


# --- evaluation -------------------------------------------------------------------------


@dataclass
class EvaluationResult:
    evaluated: int = 0
    created: int = 0
    changed: int = 0
    overridden_kept: int = 0
    withdrawn: int = 0  # computed-only rows deleted because their day is no longer expected
    need_decision: int = 0  # PENDING past the re-evaluation window, without a coordinator's decision
    by_status: dict[str, int] = field(default_factory=dict)
    work_days: int = 0  # work days evaluated (a window's evaluation: those whose inputs changed)


def work_days_in_window(session: Session, org_id: int, start: date, end: date, now: datetime) -> list[WorkDay]:
    """Planned work days of the organisation in [start, end] whose meeting has ended."""
    rows = session.scalars(
        select(WorkDay).join(PeerGroup, WorkDay.group_id == PeerGroup.id)
        .where(PeerGroup.organisation_id == org_id, WorkDay.day >= start, WorkDay.day <= end,
               WorkDay.status == WorkDayStatus.PLANNED)
        .order_by(WorkDay.day, WorkDay.id)).all()
    return [w for w in rows if w.meeting_end <= now]


def evaluate(session: Session, org_id: int, work_days: Sequence[WorkDay], rules: Rules, *,
             client_ids: Iterable[int] | None = None, actor: str = "system:nightly_sync",
             now: datetime | None = None) -> EvaluationResult:
    """Compute and upsert the attendance days of these work days in the caller's transaction.

    `now` (the sync's clock, default the real one) tells whether a day's return deadline has
    passed, and whether its re-evaluation window closes: a day on or before `now`'s local date (the group's zone) minus
    `rules.reevaluate_days` is not looked at by the nightly sync again, so one still undecided
    is flagged `needs_decision` for the coordinator.
    """
    result = EvaluationResult()
    if not work_days:
        return result
    only = set(client_ids) if client_ids is not None else None
    pairs = expected_pairs(session, work_days, only)
    wd_ids = [w.id for w in work_days]
    by_id = {w.id: w for w in work_days}
    result.withdrawn = _withdraw_unexpected(session, org_id, by_id, {(p.client_id, p.work_day_id) for p in pairs},
                                            only, actor)
    if not pairs:
        return result
    bundles: dict[tuple[int, int], _Bundle] = defaultdict(_Bundle)
    for m in session.scalars(select(MeetingAttendance).where(
            MeetingAttendance.work_day_id.in_(wd_ids), MeetingAttendance.client_id.is_not(None))).all():
        assert m.client_id is not None and m.work_day_id is not None
        bundles[(m.client_id, m.work_day_id)].meetings.append(m)
    for s in session.scalars(select(Submission).where(
            Submission.work_day_id.in_(wd_ids), Submission.client_id.is_not(None))).all():
        assert s.client_id is not None and s.work_day_id is not None
        bundles[(s.client_id, s.work_day_id)].returns.append(s)
    reports_in = _work_days_with_report(session, org_id, wd_ids)
    existing = {(a.client_id, a.work_day_id): a for a in session.scalars(
        select(AttendanceDay).where(AttendanceDay.work_day_id.in_(wd_ids))).all()}
    codes = dict(session.execute(select(Client.id, Client.code).where(
        Client.id.in_({p.client_id for p in pairs}))).all())
    clock = now or utcnow()  # the sync's clock decides deadlines; `computed_at` is when we wrote
    computed_at = utcnow()
    zones = {g.id: ZoneInfo(g.time_zone) for g in session.scalars(
        select(PeerGroup).where(PeerGroup.id.in_({w.group_id for w in work_days}))).all()}
    snapshot = rules_snapshot(rules)
    not_possible: list[AttendanceDay] = []
    for pair in pairs:
        wd = by_id[pair.work_day_id]
        deadline = return_deadline(wd.day, rules, zones[wd.group_id].key).astimezone(zones[wd.group_id])
        _, last_look = clock_flags(wd.day, rules, zones[wd.group_id], clock)
        ev, details = _evidence_for(wd, bundles[(pair.client_id, pair.work_day_id)], wd.id in reports_in,
                                    deadline, clock, last_look)
        decision = evaluate_day(ev, rules)
        reasons = list(decision.reasons)
        if details["meeting"]["rejected_intervals"]:
            reasons.append(rejected_reason(details["meeting"]["rejected_intervals"]))
        row = existing.get((pair.client_id, pair.work_day_id))
        if not pair.absence_possible and decision.status is not AttendanceStatus.PRESENT and (
                row is None or row.override_status is None):
            # Before the client joined the product (domain.participation.absence_possible): a
            # day they attended stays paid, anything else is no day of theirs (no row, and a
            # computed-only row is withdrawn); a coordinator's decision on the day still stands.
            if row is not None:
                not_possible.append(row)
            continue
        evidence = {**details, "reasons": reasons, "rules": _snapshot_for(row, snapshot),
                    "needs_decision": decision.needs_decision}
        result.evaluated += 1
        if decision.needs_decision and (row is None or row.override_status is None):
            result.need_decision += 1  # a coordinator's decision resolves it
        result.by_status[decision.status.value] = result.by_status.get(decision.status.value, 0) + 1
        if row is None:
            session.add(AttendanceDay(client_id=pair.client_id, work_day_id=wd.id, computed_status=decision.status,
                                      minutes=decision.minutes, evidence=evidence, computed_at=computed_at))
            result.created += 1
            continue
        if row.override_status is not None:
            result.overridden_kept += 1
        if (row.computed_status, row.minutes, row.evidence) == (decision.status, decision.minutes, evidence):
            continue  # nothing new: no write, and `computed_at` keeps saying when it last changed
        if row.computed_status != decision.status:
            result.changed += 1
            session.add(AuditEvent(
                organisation_id=org_id, actor=actor, action="attendance.recomputed", entity="attendance_day",
                entity_id=str(row.id),
                details={"client": codes.get(pair.client_id), "day": wd.day.isoformat(),
                         "from": row.computed_status.value, "to": decision.status.value,
                         "override": row.override_status.value if row.override_status else None}))
        row.computed_status = decision.status
        row.minutes = decision.minutes
        row.evidence = evidence
        row.computed_at = computed_at
    result.withdrawn += _withdraw(session, org_id, by_id, not_possible, actor, BEFORE_JOINING)
    return result


def _withdraw_unexpected(session: Session, org_id: int, by_id: dict[int, WorkDay],
                         expected: set[tuple[int, int]], only: set[int] | None, actor: str) -> int:
    """Delete the computed-only rows of these work days whose client is no longer expected."""
    stale = [a for a in session.scalars(select(AttendanceDay).where(AttendanceDay.work_day_id.in_(list(by_id)))).all()
             if (a.client_id, a.work_day_id) not in expected and a.override_status is None
             and (only is None or a.client_id in only)]
    return _withdraw(session, org_id, by_id, stale, actor,
                     "ei enää odotettu toimintapäivä (jakso, viikonpäivät tai ryhmä muuttui)")


#: Why a computed day before the client's membership was recorded is withdrawn.
BEFORE_JOINING = "päivä ennen kuin asiakas lisättiin ryhmään järjestelmässä: ei poissaolo"


def _withdraw(session: Session, org_id: int, by_id: dict[int, WorkDay], stale: Sequence[AttendanceDay],
              actor: str, why: str) -> int:
    """Delete these computed-only rows, each with an `attendance.withdrawn` audit event."""
    if not stale:
        return 0
    codes = dict(session.execute(select(Client.id, Client.code).where(
        Client.id.in_({a.client_id for a in stale}))).all())
    for a in stale:
        session.add(AuditEvent(
            organisation_id=org_id, actor=actor, action="attendance.withdrawn", entity="attendance_day",
            entity_id=str(a.id),
            details={"client": codes.get(a.client_id), "day": by_id[a.work_day_id].day.isoformat(),
                     "computed": a.computed_status.value, "minutes": a.minutes, "why": why}))
        session.delete(a)
    session.flush()
    return len(stale)


def _work_days_with_report(session: Session, org_id: int, wd_ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for key in session.scalars(select(ExternalResource.local_key).where(
            ExternalResource.organisation_id == org_id, ExternalResource.kind == REPORT_KIND)).all():
        if is_final_report(key):
            found.add(int(key.split(":")[1]))
    return found & set(wd_ids)


def evaluate_window(store: Store, org_id: int, rules: Rules, *, now: datetime, since: date | None = None,
                    today: date | None = None, keep: Iterable[int] = (),
                    changed: Iterable[int] | None = None) -> EvaluationResult:
    """Re-evaluate the last `rules.reevaluate_days` days (or from `since`) in one transaction,
    so that a crash leaves the register as it was, never half-updated.

    `keep`: work days left exactly as they are, because a source of their evidence could not
    be read this time (a return not seen must not turn a day into an absence).
    `changed`: the work days whose evidence the caller stored or moved now. Given, only those
    and the days whose other inputs or clock-decided flags changed since their last evaluation
    are evaluated (`incremental`); None: every day of the window. Either way each day evaluated
    is stamped, and `by_status` / `need_decision` describe the whole window.
    """
    end = today or now.date()
    start = since or (end - timedelta(days=rules.reevaluate_days))
    skip = set(keep)
    with store.session() as s:
        window = [w for w in work_days_in_window(s, org_id, start, end, now) if w.id not in skip]
        inputs = read_inputs(s, org_id, window, rules)
        days = window if changed is None else days_to_evaluate(window, inputs, rules, now, changed)
        result = evaluate(s, org_id, days, rules, now=now)
        s.flush()
        read_rows(s, inputs, [w.id for w in days])
        stamp(days, inputs, now)
        result.by_status, waiting = window_register(s, window, inputs, rules, now, (w.id for w in days))
        result.need_decision += waiting
        result.work_days = len(days)
        return result


def _rules_from_rows(session: Session, wd_ids: Sequence[int]) -> Rules:
    row = session.scalar(select(AttendanceDay).where(AttendanceDay.work_day_id.in_(wd_ids)).limit(1))
    snap = (row.evidence or {}).get("rules") if row is not None else None
    if not isinstance(snap, dict):
        return Rules()
    try:
        return Rules(**snap)
    except ValidationError:
        # A snapshot the rules no longer accept (e.g. a 0-minute limit from before it was
        # refused): the law's defaults, rather than a crash or a rule known to be wrong.
        return Rules()


def reevaluate_work_days(store: Store, org_id: int, work_day_ids: Sequence[int], *,
                         client_ids: Iterable[int] | None = None, rules: Rules | None = None,
                         actor: str = "system:reevaluate", now: datetime | None = None) -> EvaluationResult:
    """Recompute some days now (after a mapping), with the rules the last sync used."""
    with store.session() as s:
        days = list(s.scalars(select(WorkDay).where(WorkDay.id.in_(work_day_ids),
                                                    WorkDay.status == WorkDayStatus.PLANNED)).all())
        return evaluate(s, org_id, days, rules or _rules_from_rows(s, work_day_ids),
                        client_ids=client_ids, actor=actor, now=now)

