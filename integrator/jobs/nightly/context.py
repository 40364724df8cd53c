"""What one organisation's nightly sync needs to know before it reads anything: the window,
the work days in it, our memory of the outside world (ExternalResource rows) and the cursors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.config import OrganisationConfig, Rules
from integrator.domain.attendance import return_deadline
from integrator.domain.types import WorkDayStatus
from integrator.jobs.attendance.evaluate import REPORT_KIND, is_final_report
from integrator.jobs.attendance.identity import ClientIndex
from integrator.store.models import Client, ExternalResource, PeerGroup, StaffUser, SyncCursor, WorkDay
from integrator.store.types import utcnow

#: How far back meetings never read are still read once: Meet deletes conference records 30
#: days after the meeting, so a sync that was down for a week still catches up.
HARVEST_DAYS = 30
#: The meeting's state key saying when the sync last looked for its attendance and found it not
#: final yet. Only that: "no report yet" is never stored as final evidence.
CHECKED_KEY = "attendance_checked_at"


def local_today(now: datetime, zones: Iterable[str]) -> date:
    """The sync's "today": the local date where it is latest among the organisation's and its
    groups' time zones. Never the UTC date: between local midnight and 02:00 (03:00 in summer)
    the UTC date is still yesterday, and a return made then would find no work day."""
    return max(now.astimezone(ZoneInfo(z)).date() for z in zones)


def get_cursor(s: Session, org_id: int, source: str, partition: str = "") -> str | None:
    row = s.scalar(select(SyncCursor).where(SyncCursor.organisation_id == org_id, SyncCursor.source == source,
                                            SyncCursor.partition == partition))
    return row.value if row is not None else None


def set_cursor(s: Session, org_id: int, source: str, partition: str, value: str) -> None:
    """Saved in the caller's transaction: together with the writes it covers, or not at all."""
    row = s.scalar(select(SyncCursor).where(SyncCursor.organisation_id == org_id, SyncCursor.source == source,
                                            SyncCursor.partition == partition))
    if row is None:
        s.add(SyncCursor(organisation_id=org_id, source=source, partition=partition, value=value, updated_at=utcnow()))
    elif row.value != value:
        row.value = value
        row.updated_at = utcnow()


@dataclass
class MeetingRow:
    work_day_id: int
    provider: str
    organizer: str
    online_meeting_id: str | None
    meeting_code: str | None
    start: datetime
    end: datetime
    key: str = ""  # the meeting's ExternalResource local key (meeting:<group>:<day>)
    join_url: str | None = None  # Teams: finds the onlineMeeting id when it is missing
    event_id: str | None = None  # Meet: the calendar event that carries the conferenceId
    checked: bool = False  # read before, its attendance not final then (CHECKED_KEY)


@dataclass
class SyncContext:
    org_id: int
    org_key: str
    org_cfg: OrganisationConfig
    rules: Rules
    now: datetime
    start: date
    end: date
    tz: ZoneInfo
    window_start: date | None = None  # the re-evaluation window (or --since); None: from `start`
    work_days: dict[int, WorkDay] = field(default_factory=dict)
    group_of: dict[int, PeerGroup] = field(default_factory=dict)  # work day id -> group
    groups: dict[str, PeerGroup] = field(default_factory=dict)
    coordinators: dict[int, str] = field(default_factory=dict)  # group id -> coordinator email
    staff_emails: set[str] = field(default_factory=set)
    staff_by_id: dict[int, str] = field(default_factory=dict)
    courses: dict[str, str] = field(default_factory=dict)  # course id -> group key
    coursework: dict[str, int] = field(default_factory=dict)  # courseWork id -> work day id
    coursework_due: dict[str, datetime] = field(default_factory=dict)  # courseWork id -> due (as created)
    # Our coursework keys (also those whose create is pending) -> (work day id, due): a copy of the
    # work is found by the marker line derived from its key (jobs.nightly.google).
    coursework_keys: dict[str, tuple[int, datetime | None]] = field(default_factory=dict)
    folders: dict[str, int] = field(default_factory=dict)  # Drive folder id -> client id
    folder_owners: set[str] = field(default_factory=set)
    # SharePoint/OneDrive task folders (the weekly side's "sp_folder" rows): drive item id ->
    # client id, and item id -> its drive id (jobs.nightly.sharepoint).
    task_folders: dict[str, int] = field(default_factory=dict)
    task_folder_drives: dict[str, str] = field(default_factory=dict)
    meetings: list[MeetingRow] = field(default_factory=list)
    reported: set[int] = field(default_factory=set)  # work days whose meeting report is in
    # Work day id -> ids of its meeting reports (Teams) or conference records (Meet) already stored.
    report_ids: dict[int, set[str]] = field(default_factory=dict)
    unread: set[int] = field(default_factory=set)  # work days with a source that failed this run
    new_reports: set[int] = field(default_factory=set)  # work days whose meeting evidence came in now
    # Work days whose stored evidence this run wrote or moved: evaluated again whatever else
    # changed (jobs.attendance.incremental); the harvest steps say so as they store.
    touched: set[int] = field(default_factory=set)
    codes: dict[int, str] = field(default_factory=dict)  # client id -> code
    index: ClientIndex | None = None

    def changed(self, *work_day_ids: int | None) -> None:
        """Evidence of these work days was stored or moved now (None: no work day)."""
        self.touched.update(w for w in work_day_ids if w is not None)

    def deadline(self, work_day_id: int) -> datetime:
        """When the work day's return is due at the latest (`rules.day_return_deadline`, group's time)."""
        return return_deadline(self.work_days[work_day_id].day, self.rules, self.group_of[work_day_id].time_zone)

    def in_window(self, work_day_id: int) -> bool:
        """The day is inside the re-evaluation window (or what --since asks)."""
        return self.work_days[work_day_id].day >= (self.window_start or self.start)

    def reads(self, m: MeetingRow) -> bool:
        """The meeting's attendance is listed at this sync: once it has ended, at every sync while
        its day is inside the re-evaluation window - also after a report is in, since Teams cuts a
        new report (Meet a new conference record) when the meeting empties and someone rejoins;
        older than that only if its attendance was never read (the sync was down), so that each
        meeting costs one listing per sync within the window and nothing outside it."""
        if m.end > self.now:
            return False
        never_read = m.work_day_id not in self.reported and not m.checked
        return never_read or self.in_window(m.work_day_id)

    def group_days(self, group_key: str) -> set[int]:
        group = self.groups.get(group_key)
        return {wid for wid, w in self.work_days.items() if group is not None and w.group_id == group.id}

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()


def _work_day_of_coursework(key: str) -> int | None:
    # coursework:<group>:<week>:wd<work day id>:t<position>:<variant> (jobs.weekly.state)
    for part in key.split(":"):
        if part.startswith("wd") and part[2:].isdigit():
            return int(part[2:])
    return None


def load_context(s: Session, org_id: int, org_key: str, org_cfg: OrganisationConfig, rules: Rules, *,
                 now: datetime, start: date, today: date, tz: str) -> SyncContext:
    ctx = SyncContext(org_id=org_id, org_key=org_key, org_cfg=org_cfg, rules=rules, now=now, start=start,
                      end=today, tz=ZoneInfo(tz))
    rows = s.execute(
        select(WorkDay, PeerGroup).join(PeerGroup, WorkDay.group_id == PeerGroup.id)
        .where(PeerGroup.organisation_id == org_id, WorkDay.day >= start, WorkDay.day <= ctx.end,
               WorkDay.status == WorkDayStatus.PLANNED)).all()
    for wd, group in rows:
        ctx.work_days[wd.id] = wd
        ctx.group_of[wd.id] = group
    for g in s.scalars(select(PeerGroup).where(PeerGroup.organisation_id == org_id)).all():
        ctx.groups[g.key] = g
        if g.coordinator_id is not None:
            staff = s.get(StaffUser, g.coordinator_id)
            if staff is not None:
                ctx.coordinators[g.id] = staff.email
    ctx.staff_by_id = dict(s.execute(select(StaffUser.id, StaffUser.email)).all())
    ctx.staff_emails = {e.lower() for e in ctx.staff_by_id.values()}
    ctx.codes = dict(s.execute(select(Client.id, Client.code).where(Client.organisation_id == org_id)).all())
    by_code = {code: cid for cid, code in ctx.codes.items()}
    by_day = {(ctx.group_of[w].key, ctx.work_days[w].day.isoformat()): w for w in ctx.work_days}
    # Columns, streamed: tens of thousands of rows at 10,000 clients, never held as ORM objects.
    for r in s.execute(select(ExternalResource.kind, ExternalResource.local_key, ExternalResource.external_id,
                              ExternalResource.state)
                       .where(ExternalResource.organisation_id == org_id, ExternalResource.status != "removed")
                       .execution_options(yield_per=2000)):
        _remember(ctx, r, by_code, by_day)
    ctx.index = ClientIndex.load(s, org_id)
    return ctx


def _due_of(state: dict[str, Any]) -> datetime | None:
    due = (state.get("fp") or {}).get("due") if isinstance(state.get("fp"), dict) else None
    if not isinstance(due, str):
        return None
    try:
        parsed = datetime.fromisoformat(due)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def _remember(ctx: SyncContext, r: Any, by_code: dict[str, int],
              by_day: dict[tuple[str, str], int]) -> None:
    parts = r.local_key.split(":")
    state: dict[str, Any] = r.state or {}
    if r.kind == REPORT_KIND and len(parts) > 1 and parts[1].isdigit():
        if is_final_report(r.local_key):
            ctx.reported.add(int(parts[1]))
            ctx.report_ids.setdefault(int(parts[1]), set()).add(":".join(parts[3:]))
    elif r.kind == "meeting" and len(parts) == 3 and (parts[1], parts[2]) in by_day:
        wd_id = by_day[(parts[1], parts[2])]
        wd = ctx.work_days[wd_id]
        ctx.meetings.append(MeetingRow(
            work_day_id=wd_id, provider=str(state.get("provider", "")), organizer=str(state.get("organizer", "")),
            online_meeting_id=state.get("online_meeting_id"), meeting_code=state.get("conference_id"),
            start=wd.meeting_start, end=wd.meeting_end, key=r.local_key, join_url=state.get("join_url"),
            event_id=state.get("event_id") or r.external_id, checked=bool(state.get(CHECKED_KEY))))
    elif r.kind == "coursework":
        cw_day, due = _work_day_of_coursework(r.local_key), _due_of(state)
        if cw_day is not None:
            ctx.coursework_keys[r.local_key] = (cw_day, due)
        if r.external_id and cw_day is not None:
            ctx.coursework[r.external_id] = cw_day
        if r.external_id and due is not None:
            ctx.coursework_due[r.external_id] = due
    elif not r.external_id:
        return
    elif r.kind == "sp_folder" and len(parts) > 1 and parts[1] in by_code:
        ctx.task_folders[r.external_id] = by_code[parts[1]]
        if state.get("drive_id"):
            ctx.task_folder_drives[r.external_id] = str(state["drive_id"])
    elif r.kind == "course" and len(parts) > 1:
        ctx.courses[r.external_id] = parts[1]
    elif r.kind in ("folder", "week_folder") and len(parts) > 1 and parts[1] in by_code:
        ctx.folders[r.external_id] = by_code[parts[1]]
        # The weekly setup records the owning coordinator's staff id ("" = the admin subject).
        owner = state.get("owner")
        if r.kind == "folder":  # week folders live inside the client folder, under the same owner
            ctx.folder_owners.add(ctx.staff_by_id.get(owner, "") if isinstance(owner, int)
                                  else str(owner or ""))
