"""The corrections log (korjausloki): every coordinator decision on an attendance day and every
return to the computed status, read from the audit trail (`AuditEvent`), one entry per event.

The audit trail, not the attendance rows, is the source: a row keeps only the decision in force,
while a payer asks who changed what, when and why, including decisions later withdrawn.
`jobs.attendance.corrections` writes the events; this module only reads them, so that the
register, the corrections report and a day's history all tell the same story.

Events are selected by the day they correct (`details["day"]`), not by when they were made:
an excused day agreed in October for a work day in November belongs to November's register.

Each event says, since corrections moved to their own module (`details["v"] == 2`), the
*effective* status before and after (what the register showed and shows) and the computed one.
Older events said the coordinator's decision before and after (None: no decision), which is
read here as the same thing: no decision meant the computed status was in force.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.domain.types import AttendanceStatus
from integrator.domain.weeks import parse_month
from integrator.store.db import Store
from integrator.store.models import AttendanceDay, AuditEvent, Organisation, PeerGroup, StaffUser, WorkDay

#: The audit actions of a correction: a decision recorded, and a decision removed.
DECIDED = "attendance.override"
REVERTED = "attendance.override_removed"
CORRECTION_ACTIONS = (DECIDED, REVERTED)
HELSINKI = ZoneInfo("Europe/Helsinki")
_STAFF = re.compile(r"^staff:(\d+)$")


@dataclass(frozen=True)
class CorrectionEvent:
    """One audited change of a day: (at, who, from, to, reason) and the day it is about."""

    at: datetime  # aware, UTC
    day: date
    client_code: str
    group: str
    action: str  # DECIDED or REVERTED
    before: AttendanceStatus | None  # effective status before; None: the day was not evaluated
    after: AttendanceStatus | None  # effective status after
    computed: AttendanceStatus | None  # the computed status at the time
    reason: str
    actor: str  # as audited: "staff:<id>", "cli:<os user>", "system"
    staff_id: int | None
    staff_name: str | None
    via: str | None = None  # how a staff member's decision came in, e.g. "cli:olli"

    @property
    def reverted(self) -> bool:
        return self.action == REVERTED

    @property
    def who(self) -> str:
        """'Olli Ohjaaja (staff:3)' for a staff member, else the audited actor."""
        if self.staff_name is not None:
            return f"{self.staff_name} ({self.actor})"
        return self.actor

    @property
    def local_at(self) -> datetime:
        """When, in Helsinki time (naive, for a spreadsheet cell)."""
        return self.at.astimezone(HELSINKI).replace(tzinfo=None)


def _status(value: object) -> AttendanceStatus | None:
    try:
        return AttendanceStatus(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _iso(day: date) -> str:
    return day.isoformat()


def events(session: Session, organisation_id: int, first: date, last: date, *,
           client_code: str | None = None, group_key: str | None = None) -> list[CorrectionEvent]:
    """The organisation's correction events for days in [first, last], oldest first."""
    day = AuditEvent.details["day"].as_string()
    q = (select(AuditEvent)
         .where(AuditEvent.organisation_id == organisation_id, AuditEvent.entity == "attendance_day",
                AuditEvent.action.in_(CORRECTION_ACTIONS), day >= _iso(first), day <= _iso(last)))
    if client_code is not None:
        q = q.where(AuditEvent.details["client"].as_string() == client_code)
    found = list(session.scalars(q.order_by(AuditEvent.at, AuditEvent.id)))
    staff_ids = {int(m.group(1)) for e in found if (m := _STAFF.match(e.actor))}
    names = dict(session.execute(select(StaffUser.id, StaffUser.display_name)
                                 .where(StaffUser.id.in_(staff_ids))).all()) if staff_ids else {}
    groups = _groups_of_old_events(session, [e for e in found if not (e.details or {}).get("group")])
    out: list[CorrectionEvent] = []
    for e in found:
        d = e.details or {}
        group = str(d.get("group") or groups.get(e.entity_id or "", ""))
        if group_key is not None and group != group_key:
            continue
        computed = _status(d.get("computed"))
        before, after = _status(d.get("from")), _status(d.get("to"))
        if d.get("v") != 2:  # an older event: its from/to were decisions, None meaning "computed"
            before, after = before or computed, after or computed
        m = _STAFF.match(e.actor)
        staff_id = int(m.group(1)) if m else None
        out.append(CorrectionEvent(
            at=e.at if e.at.tzinfo else e.at.replace(tzinfo=UTC), day=date.fromisoformat(str(d.get("day"))),
            client_code=str(d.get("client") or ""), group=group, action=e.action, before=before, after=after,
            computed=computed, reason=str(d.get("reason") or ""), actor=e.actor, staff_id=staff_id,
            staff_name=names.get(staff_id) if staff_id is not None else None,
            via=str(d["via"]) if d.get("via") else None))
    return out


def _groups_of_old_events(session: Session, found: Sequence[AuditEvent]) -> dict[str, str]:
    """{attendance day id: group key} for events written before the group was recorded in them."""
    ids = [int(e.entity_id) for e in found if e.entity_id and e.entity_id.isdigit()]
    if not ids:
        return {}
    rows = session.execute(select(AttendanceDay.id, PeerGroup.key)
                           .join(WorkDay, AttendanceDay.work_day_id == WorkDay.id)
                           .join(PeerGroup, WorkDay.group_id == PeerGroup.id)
                           .where(AttendanceDay.id.in_(ids))).all()
    return {str(i): key for i, key in rows}


@dataclass(frozen=True)
class CorrectionsReport:
    organisation_key: str
    organisation_name: str
    month: str  # "2026-11"
    first: date
    last: date
    events: list[CorrectionEvent]


def month_report(store: Store, org: str | int, month: str, *, group_key: str | None = None) -> CorrectionsReport:
    """Every correction event of the days of `month` (YYYY-MM). ValueError for a bad month,
    LookupError for an unknown organisation."""
    year, num = parse_month(month)
    first = date(year, num, 1)
    last = first.replace(day=calendar.monthrange(year, num)[1])
    with store.session() as s:
        found = s.get(Organisation, org) if isinstance(org, int) else s.scalar(
            select(Organisation).where(Organisation.key == org))
        if found is None:
            raise LookupError(f"no organisation {org!r} in the store")
        found_events = events(s, found.id, first, last, group_key=group_key)
        # The report reads day by day; a day's events in the order they were made.
        found_events.sort(key=lambda e: (e.day, e.client_code, e.group, e.at))
        return CorrectionsReport(found.key, found.name, f"{year:04d}-{num:02d}", first, last, found_events)
