"""Writing raw evidence: idempotent upserts keyed by the source's own ids, so a re-run after a
crash or a fault writes the same rows again instead of twins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.jobs.attendance.evaluate import REPORT_KIND, report_key
from integrator.jobs.attendance.identity import STAFF_ROLES
from integrator.jobs.nightly.context import CHECKED_KEY, MeetingRow, SyncContext
from integrator.store.db import Store
from integrator.store.models import ExternalResource, MeetingAttendance, Submission
from integrator.store.types import utcnow


@dataclass(frozen=True)
class ReturnIn:
    source: str  # classroom | drive
    external_id: str
    client_id: int | None
    work_day_id: int | None
    state: str
    returned_at: datetime | None
    late: bool
    mime_type: str | None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AttendeeIn:
    record_key: str
    participant_key: str
    user_id: str | None
    email: str | None
    display_name: str | None
    via_phone: bool
    seconds: int
    intervals: list[tuple[datetime, datetime]]
    raw: dict[str, Any] = field(default_factory=dict)


def upsert_returns(s: Session, ctx: SyncContext, items: Sequence[ReturnIn]) -> int:
    """Insert new returns, update changed ones; returns how many rows were written."""
    if not items:
        return 0
    written = 0
    by_source: dict[str, list[ReturnIn]] = {}
    for it in items:
        by_source.setdefault(it.source, []).append(it)
    for source, group in by_source.items():
        ids = [it.external_id for it in group]
        existing: dict[str, Submission] = {}
        for start in range(0, len(ids), 500):
            for found in s.scalars(select(Submission).where(Submission.source == source,
                                                            Submission.external_id.in_(ids[start:start + 500]))):
                existing[found.external_id] = found
        for it in group:
            row = existing.get(it.external_id)
            if row is None:
                row = Submission(organisation_id=ctx.org_id, source=source, external_id=it.external_id, seen_at=utcnow())
                s.add(row)
                existing[it.external_id] = row
            elif (row.state, row.returned_at, row.late, row.client_id, row.work_day_id) == (
                    it.state, it.returned_at, it.late, it.client_id or row.client_id, it.work_day_id or row.work_day_id):
                continue
            ctx.changed(row.work_day_id)
            row.client_id = it.client_id or row.client_id
            row.work_day_id = it.work_day_id or row.work_day_id
            ctx.changed(row.work_day_id)
            row.state, row.returned_at, row.late = it.state, it.returned_at, it.late
            row.mime_type, row.raw = it.mime_type, it.raw
            written += 1
    return written


def store_attendees(s: Session, ctx: SyncContext, source: str, work_day_id: int, items: Sequence[AttendeeIn]) -> int:
    assert ctx.index is not None
    keys = [it.record_key for it in items]
    existing = {r.record_key: r for r in s.scalars(select(MeetingAttendance).where(
        MeetingAttendance.source == source, MeetingAttendance.record_key.in_(keys)))} if keys else {}
    for it in items:
        row = existing.get(it.record_key)
        if row is None:
            row = MeetingAttendance(organisation_id=ctx.org_id, source=source, record_key=it.record_key,
                                    seen_at=utcnow())
            s.add(row)
        before = _attendance_facts(row)
        row.work_day_id = work_day_id
        row.participant_key = it.participant_key
        row.email = it.email
        row.display_name = it.display_name
        row.via_phone = it.via_phone
        row.seconds = it.seconds
        row.intervals = [[a.isoformat(), b.isoformat()] for a, b in sorted(it.intervals)]
        row.first_join = min((a for a, _ in it.intervals), default=None)
        row.last_leave = max((b for _, b in it.intervals), default=None)
        row.raw = {**it.raw, "user_id": it.user_id}
        if row.client_id is None and str(it.raw.get("role", "")).lower() not in STAFF_ROLES:
            # The organiser or staff are never a client, whatever an old mapping of their key says.
            row.client_id = ctx.index.resolve(source, user_id=it.user_id, key=it.participant_key, email=it.email)
        if _attendance_facts(row) != before:  # the same record read again is no new evidence
            ctx.changed(before[0], work_day_id)
    return len(items)


def _attendance_facts(row: MeetingAttendance) -> tuple[Any, ...]:
    """What the evaluation reads of a meeting record (jobs.attendance.evaluate)."""
    return (row.work_day_id, row.client_id, row.via_phone, row.seconds, row.intervals, row.source)


def mark_report(s: Session, ctx: SyncContext, work_day_id: int, source: str, report_id: str,
                details: dict[str, Any]) -> None:
    """Record that this work day's meeting attendance is final: a published report (Teams) or an
    ended conference record (Meet). Never called for "no report yet"."""
    key = report_key(work_day_id, source, report_id)
    row = s.scalar(select(ExternalResource).where(ExternalResource.organisation_id == ctx.org_id,
                                                  ExternalResource.kind == REPORT_KIND,
                                                  ExternalResource.local_key == key))
    if row is None:
        s.add(ExternalResource(organisation_id=ctx.org_id, kind=REPORT_KIND, local_key=key, external_id=report_id,
                               state=details, status="active"))
        ctx.changed(work_day_id)  # the day's meeting evidence became final now
    else:
        row.state = details
    ctx.reported.add(work_day_id)
    ctx.report_ids.setdefault(work_day_id, set()).add(report_id)
    ctx.new_reports.add(work_day_id)


#: Shown in the job history when a meeting's attendance cannot be read at all.
MEETING_ID_UNKNOWN = "attendance cannot be read: meeting id unknown"
#: Error kind of MEETING_ID_UNKNOWN: it leaves only that meeting's days pending, so it does not
#: hold back the organisation's absence alerts (it may last for weeks; transient faults do not).
MEETING_ID_KIND = "meeting_id"


def mark_checked(store: Store, ctx: SyncContext, m: MeetingRow) -> None:
    """Note on the meeting that it was read and its attendance was not final yet: not evidence,
    only what lets a meeting older than the re-evaluation window be read once after an outage
    and not every night (`SyncContext.reads`). Written once per meeting."""
    if m.checked:
        return
    with store.session() as s:
        row = s.scalar(select(ExternalResource).where(ExternalResource.organisation_id == ctx.org_id,
                                                      ExternalResource.kind == "meeting",
                                                      ExternalResource.local_key == m.key))
        if row is not None:
            row.state = {**(row.state or {}), CHECKED_KEY: ctx.now.isoformat()}
    m.checked = True


def remember_meeting_ids(store: Store, ctx: SyncContext, key: str, ids: dict[str, str | None]) -> None:
    """Keep ids found by the harvest on the meeting's row. Ids are only ever added: a missing
    (None) value never overwrites one that is known."""
    found = {k: v for k, v in ids.items() if v}
    if not found:
        return
    with store.session() as s:
        row = s.scalar(select(ExternalResource).where(ExternalResource.organisation_id == ctx.org_id,
                                                      ExternalResource.kind == "meeting",
                                                      ExternalResource.local_key == key))
        if row is None:
            return
        state = dict(row.state or {})
        state.update(found)
        if "online_meeting_id" in found:
            state["online_meeting_error"] = None
        row.state = state

