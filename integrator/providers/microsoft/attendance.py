"""Teams attendance: a meeting's attendance reports and their records, every page read.

A report exists only after the meeting has ended, and Graph lists at most the 50 latest per
meeting; both are fine for one meeting a work day read the night after. The SDK's models are
turned into plain, typed values here so that jobs never see vendor types.

The nightly sync reads many meetings at once through `$batch`: those answers are read from their
JSON (`record_from_json`, `report_from_json`) for the fields we use, not built into SDK models
(about 4 ms per record); the SDK's models remain for single calls and next pages
(`record_from_sdk`). Both readers give the same TeamsRecord (tests/providers/test_teams_json.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from msgraph.graph_service_client import GraphServiceClient

from integrator.providers.errors import ProviderError
from integrator.providers.microsoft.client import GraphClient


@dataclass(frozen=True)
class TeamsReport:
    id: str
    start: datetime | None
    end: datetime | None
    participants: int


@dataclass(frozen=True)
class TeamsRecord:
    """One attendee of one report; `intervals` are (join, leave) pairs in UTC."""

    id: str
    identity_id: str | None
    display_name: str | None
    email: str | None
    role: str | None
    tenant_id: str | None
    seconds: int
    intervals: list[tuple[datetime, datetime]] = field(default_factory=list)
    rejected_intervals: int = 0  # reversed (join after leave) or without a time zone: not counted

    def raw(self) -> dict[str, Any]:
        return {"id": self.id, "user_id": self.identity_id, "role": self.role, "tenant_id": self.tenant_id,
                "seconds": self.seconds, "rejected_intervals": self.rejected_intervals}


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _meeting(sdk: GraphServiceClient, organizer_id: str, meeting_id: str) -> Any:
    return sdk.users.by_user_id(organizer_id).online_meetings.by_online_meeting_id(meeting_id)


def list_reports(client: GraphClient, organizer_id: str, meeting_id: str) -> list[TeamsReport]:
    """Every attendance report of one online meeting (empty until the meeting has ended)."""
    out: list[TeamsReport] = []
    page = client.call("attendanceReports.list",
                       lambda sdk: _meeting(sdk, organizer_id, meeting_id).attendance_reports.get())
    while page is not None:
        for r in page.value or []:
            out.append(TeamsReport(id=str(r.id), start=_utc(r.meeting_start_date_time),
                                   end=_utc(r.meeting_end_date_time), participants=int(r.total_participant_count or 0)))
        link = page.odata_next_link
        if not link:
            break
        page = client.call("attendanceReports.list",
                           lambda sdk, link=link: _meeting(sdk, organizer_id, meeting_id)  # type: ignore[misc]
                           .attendance_reports.with_url(link).get())
    return out


def valid_intervals(pairs: list[tuple[Any, Any]]) -> tuple[list[tuple[datetime, datetime]], int]:
    """The (join, leave) pairs that can be counted, and how many were rejected.

    Attendance is money: a pair whose join is after its leave, or whose instant has no time
    zone (we would have to guess the offset), is never counted - it is dropped and counted so
    that the record shows it. A pair with a side missing (still in the meeting) is skipped.
    """
    out: list[tuple[datetime, datetime]] = []
    rejected = 0
    for join, leave in pairs:
        if join is None or leave is None:
            continue
        if not isinstance(join, datetime) or not isinstance(leave, datetime) \
                or join.tzinfo is None or leave.tzinfo is None or join.utcoffset() is None \
                or leave.utcoffset() is None:
            rejected += 1
            continue
        join, leave = join.astimezone(UTC), leave.astimezone(UTC)
        if join > leave:
            rejected += 1
            continue
        out.append((join, leave))
    return out, rejected


def record_from_sdk(r: Any) -> TeamsRecord:
    identity = r.identity
    extra = getattr(identity, "additional_data", None) or {}
    intervals, rejected = valid_intervals([(getattr(iv, "join_date_time", None), getattr(iv, "leave_date_time", None))
                                           for iv in r.attendance_intervals or []])
    tenant = extra.get("tenantId") or getattr(identity, "tenant_id", None)
    ident = getattr(identity, "id", None)
    seconds = max(0, int(r.total_attendance_in_seconds or 0))
    if rejected:  # Teams' own total includes the broken pair: count only the pairs we kept
        seconds = int(sum((b - a).total_seconds() for a, b in intervals))
    return TeamsRecord(
        id=str(r.id), identity_id=str(ident) if ident else None, display_name=getattr(identity, "display_name", None),
        email=r.email_address, role=str(r.role) if r.role else None, tenant_id=str(tenant) if tenant else None,
        seconds=seconds, intervals=intervals, rejected_intervals=rejected)


def _instant(value: Any) -> Any:
    """An ISO 8601 string of Graph -> datetime (naive when it has no offset: valid_intervals rejects
    it, as it does the SDK's); anything unreadable stays as it is, also rejected there."""
    if not isinstance(value, str):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return value


def record_from_json(d: dict[str, Any]) -> TeamsRecord:
    """As record_from_sdk, from an attendanceRecord's JSON object (a `$batch` answer's item)."""
    identity = d.get("identity") or {}
    intervals, rejected = valid_intervals([(_instant(iv.get("joinDateTime")), _instant(iv.get("leaveDateTime")))
                                           for iv in d.get("attendanceIntervals") or []])
    tenant, ident, role = identity.get("tenantId"), identity.get("id"), d.get("role")
    seconds = max(0, int(d.get("totalAttendanceInSeconds") or 0))
    if rejected:
        seconds = int(sum((b - a).total_seconds() for a, b in intervals))
    return TeamsRecord(
        id=str(d.get("id")), identity_id=str(ident) if ident else None, display_name=identity.get("displayName"),
        email=d.get("emailAddress"), role=str(role) if role else None, tenant_id=str(tenant) if tenant else None,
        seconds=seconds, intervals=intervals, rejected_intervals=rejected)


def report_from_json(d: dict[str, Any]) -> TeamsReport:
    start, end = _instant(d.get("meetingStartDateTime")), _instant(d.get("meetingEndDateTime"))
    return TeamsReport(id=str(d.get("id")), start=_utc(start) if isinstance(start, datetime) else None,
                       end=_utc(end) if isinstance(end, datetime) else None,
                       participants=int(d.get("totalParticipantCount") or 0))


def list_records(client: GraphClient, organizer_id: str, meeting_id: str, report_id: str) -> list[TeamsRecord]:
    """Every attendance record of one report, all pages."""
    def records(sdk: GraphServiceClient) -> Any:
        return _meeting(sdk, organizer_id, meeting_id).attendance_reports.by_meeting_attendance_report_id(
            report_id).attendance_records

    out: list[TeamsRecord] = []
    page = client.call("attendanceRecords.list", lambda sdk: records(sdk).get())
    while page is not None:
        out.extend(record_from_sdk(r) for r in page.value or [])
        link = page.odata_next_link
        if not link:
            break
        page = client.call("attendanceRecords.list",
                           lambda sdk, link=link: records(sdk).with_url(link).get())  # type: ignore[misc]
    return out


# ---- many meetings at once: Graph $batch (20 per envelope), next pages one by one ----


def _report(r: Any) -> TeamsReport:
    return TeamsReport(id=str(r.id), start=_utc(r.meeting_start_date_time), end=_utc(r.meeting_end_date_time),
                       participants=int(r.total_participant_count or 0))


def _reports_of(oid: str, mid: str) -> Callable[[Any], Any]:
    return lambda sdk: _meeting(sdk, oid, mid).attendance_reports


def _records_of(oid: str, mid: str, rid: str) -> Callable[[Any], Any]:
    return lambda sdk: _meeting(sdk, oid, mid).attendance_reports.by_meeting_attendance_report_id(rid).attendance_records


def reports_for(client: GraphClient, meetings: dict[str, tuple[str, str]]
                ) -> dict[str, list[TeamsReport] | ProviderError]:
    """Attendance reports of many meetings ({key: (organiser object id, online meeting id)})."""
    return client.batch_lists("attendanceReports.list",
                              {key: _reports_of(oid, mid) for key, (oid, mid) in meetings.items()},
                              report_from_json, _report)


def records_for(client: GraphClient, reports: dict[str, tuple[str, str, str]]
                ) -> dict[str, list[TeamsRecord] | ProviderError]:
    """Attendance records of many reports ({key: (organiser object id, meeting id, report id)})."""
    return client.batch_lists("attendanceRecords.list",
                              {key: _records_of(*ids) for key, ids in reports.items()},
                              record_from_json, record_from_sdk)
