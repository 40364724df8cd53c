"""The nightly sync reads `$batch` attendance answers from their JSON (record_from_json,
report_from_json) instead of SDK models: the two readers must give the same values, also for
the intervals that are never counted (reversed, without a time zone, still open)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from msgraph.generated.models.attendance_record_collection_response import AttendanceRecordCollectionResponse
from msgraph.generated.models.meeting_attendance_report_collection_response import (
    MeetingAttendanceReportCollectionResponse,
)

from integrator.providers.microsoft.attendance import (
    _report,
    record_from_json,
    record_from_sdk,
    report_from_json,
)

# Microsoft's documented answer (microsoftgraph/microsoft-graph-docs-contrib,
# api-reference/v1.0/api/attendancerecord-list.md, "Response"), then the cases Teams also sends.
DOCUMENTED = [
    {"emailAddress": "frederick.cormier@contoso.com", "totalAttendanceInSeconds": 322, "role": "Organizer",
     "identity": {"id": "dc17674c-81d9-4adb-bfb2-8f6a442e4623", "displayName": "Frederick Cormier", "tenantId": None},
     "attendanceIntervals": [{"joinDateTime": "2021-10-05T04:38:27.6027225Z",
                              "leaveDateTime": "2021-10-05T04:43:49.7702391Z", "durationInSeconds": 322}]},
    {"emailAddress": "lisa.adkins@contoso.com", "totalAttendanceInSeconds": 314, "role": "Presenter",
     "identity": {"id": "57caaef9-5ed0-48d5-8862-e5abfa71b3e9", "displayName": "Lisa Adkins", "tenantId": None},
     "attendanceIntervals": [{"joinDateTime": "2021-10-04T23:13:43.3776519Z",
                              "leaveDateTime": "2021-10-04T23:18:57.5639338Z", "durationInSeconds": 314}]},
]
EDGES = [
    {"id": "guest-1", "emailAddress": None, "totalAttendanceInSeconds": 3600, "role": "Attendee",
     "identity": {"id": None, "displayName": "Vieras (guest)", "tenantId": "other-tenant"},
     "attendanceIntervals": [
         {"joinDateTime": "2026-12-01T08:00:00Z", "leaveDateTime": "2026-12-01T08:30:00Z"},
         {"joinDateTime": "2026-12-01T09:00:00Z", "leaveDateTime": "2026-12-01T08:40:00Z"},  # reversed
         {"joinDateTime": "2026-12-01T08:45:00", "leaveDateTime": "2026-12-01T08:50:00"},  # no time zone
         {"joinDateTime": "2026-12-01T08:55:00+02:00", "leaveDateTime": None}]},  # still in the meeting
    {"id": "k-1", "emailAddress": "k-0001@asiakas.example.fi", "totalAttendanceInSeconds": -5, "role": None,
     "identity": {"id": "7f1c", "displayName": "Asiakas"}, "attendanceIntervals": []},
]


def _sdk(body: dict[str, Any], model: Any) -> Any:
    node = JsonParseNodeFactory().get_root_parse_node("application/json", json.dumps(body).encode())
    return node.get_object_value(model)


@pytest.mark.parametrize("records", [DOCUMENTED, EDGES], ids=["documented", "edges"])
def test_a_record_read_from_json_equals_the_one_read_through_the_sdk(records: list[dict[str, Any]]) -> None:
    page = _sdk({"value": records}, AttendanceRecordCollectionResponse)
    assert [record_from_json(r) for r in records] == [record_from_sdk(r) for r in page.value]


def test_the_edges_are_read_as_the_register_expects() -> None:
    guest, client = (record_from_json(r) for r in EDGES)
    assert guest.rejected_intervals == 2 and guest.seconds == 30 * 60 and len(guest.intervals) == 1
    assert guest.tenant_id == "other-tenant" and guest.identity_id is None
    assert client.seconds == 0 and client.role is None and client.identity_id == "7f1c"


def test_a_report_read_from_json_equals_the_one_read_through_the_sdk() -> None:
    # attendancereport-list.md's documented shape, plus a report whose times have no offset.
    reports = [{"id": "c9b6db1c-d5eb-427d-a5c0-20088d9b22d7", "totalParticipantCount": 1,
                "meetingStartDateTime": "2021-10-05T04:38:23.945Z", "meetingEndDateTime": "2021-10-05T04:43:49.77Z",
                "attendanceRecords": []},
               {"id": "r2", "meetingStartDateTime": "2026-12-01T08:00:00", "meetingEndDateTime": None}]
    page = _sdk({"value": reports}, MeetingAttendanceReportCollectionResponse)
    assert [report_from_json(r) for r in reports] == [_report(r) for r in page.value]
