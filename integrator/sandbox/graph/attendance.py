"""Teams attendance reports, built from ``sb.graph.join_meeting`` calls.

One report per meeting session (joins that overlap in time, as Teams cuts them). A report
appears only once the session is over (plus ``sb.graph.report_delay``) and, for a session held
in the scheduled slot, once the scheduled end has passed on the sandbox clock. The list returns at most the 50 latest reports.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from flask import Flask, Response, request

from integrator.sandbox.graph.app import GraphApp, Operation, graph_app, json_response, tenant
from integrator.sandbox.graph.errors import GraphError
from integrator.sandbox.graph.meetings import require_meeting, require_policy
from integrator.sandbox.graph.odata import base_url, page
from integrator.sandbox.graph.tenant import AttendanceInterval, Json, Meeting
from integrator.sandbox.graph.timefmt import iso_z

ROLES = frozenset({"OnlineMeetingArtifact.Read.All"})
_MAX_REPORTS = 50


def _sessions(meeting: Meeting) -> list[list[AttendanceInterval]]:
    intervals = sorted((a for a in tenant().attendance if a.meeting_id == meeting.id), key=lambda a: a.join)
    sessions: list[list[AttendanceInterval]] = []
    for interval in intervals:
        if sessions and interval.join <= max(a.leave for a in sessions[-1]):
            sessions[-1].append(interval)
        else:
            sessions.append([interval])
    return sessions


def _visible(meeting: Meeting, session: list[AttendanceInterval]) -> bool:
    now = graph_app().state.clock.now()
    start, end = min(a.join for a in session), max(a.leave for a in session)
    scheduled_end = meeting.end if start < meeting.end else start
    return now >= end + tenant().report_delay and now >= scheduled_end


def _report_id(meeting: Meeting, session: list[AttendanceInterval]) -> str:
    first = min(a.join for a in session)
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{meeting.id}/{first.isoformat()}"))


def _report(meeting: Meeting, session: list[AttendanceInterval]) -> Json:
    return {
        "id": _report_id(meeting, session),
        "totalParticipantCount": len({a.identity_id for a in session}),
        "meetingStartDateTime": iso_z(min(a.join for a in session)),
        "meetingEndDateTime": iso_z(max(a.leave for a in session)),
        "externalEventInformation": [],
    }


def _identity(interval: AttendanceInterval) -> Json:
    """Teams types the participant: a tenant user, an email/name guest, or a phone dial-in."""
    identity: Json = {
        "@odata.type": f"#microsoft.graph.communications{interval.kind.capitalize()}Identity",
        "id": interval.identity_id,
        "displayName": interval.display_name,
    }
    if interval.kind == "user":
        identity["tenantId"] = tenant().tenant_id
    return identity


def _records(session: list[AttendanceInterval]) -> list[Json]:
    by_identity: dict[str, list[AttendanceInterval]] = defaultdict(list)
    for interval in session:
        by_identity[interval.identity_id].append(interval)
    records = []
    for identity_id, intervals in by_identity.items():
        first = intervals[0]
        spans = [
            {
                "joinDateTime": iso_z(a.join),
                "leaveDateTime": iso_z(a.leave),
                "durationInSeconds": int((a.leave - a.join).total_seconds()),
            }
            for a in intervals
        ]
        records.append(
            {
                "id": identity_id,
                "emailAddress": first.email,
                "totalAttendanceInSeconds": sum(int(s["durationInSeconds"]) for s in spans),  # type: ignore[call-overload]
                "role": first.role,
                "registrationId": None,
                "identity": _identity(first),
                "attendanceIntervals": spans,
            }
        )
    return records


def _visible_sessions(user_id: str, meeting_id: str) -> tuple[Meeting, list[list[AttendanceInterval]]]:
    organizer = require_policy(user_id)
    meeting = require_meeting(organizer, meeting_id)
    sessions = [s for s in _sessions(meeting) if _visible(meeting, s)]
    return meeting, sessions


def _find(user_id: str, meeting_id: str, report_id: str) -> tuple[Meeting, list[AttendanceInterval]]:
    meeting, sessions = _visible_sessions(user_id, meeting_id)
    for session in sessions:
        if _report_id(meeting, session) == report_id:
            return meeting, session
    raise GraphError(404, "NotFound", "The requested attendance report was not found.")


def list_reports(user_id: str, meeting_id: str) -> Response:
    with graph_app().state.lock:
        meeting, sessions = _visible_sessions(user_id, meeting_id)
        reports = [_report(meeting, s) for s in sessions]
    latest = sorted(reports, key=lambda r: str(r["meetingStartDateTime"]), reverse=True)[:_MAX_REPORTS]
    for report in latest:
        report["attendanceRecords"] = []  # a navigation property: the list documents it empty
    context = f"{base_url()}/$metadata#users('{user_id}')/onlineMeetings('{meeting_id}')/attendanceReports"
    return json_response({"@odata.context": context, "value": latest})


def get_report(user_id: str, meeting_id: str, report_id: str) -> Response:
    with graph_app().state.lock:
        meeting, session = _find(user_id, meeting_id, report_id)
        body = _report(meeting, session)
        if "attendanceRecords" in request.args.get("$expand", ""):
            body["attendanceRecords"] = _records(session)
    context = f"{base_url()}/$metadata#users('{user_id}')/onlineMeetings('{meeting_id}')/attendanceReports('{report_id}')"
    return json_response({"@odata.context": context, **body})


def list_records(user_id: str, meeting_id: str, report_id: str) -> Response:
    with graph_app().state.lock:
        _, session = _find(user_id, meeting_id, report_id)
        records = _records(session)
    context = f"{base_url()}/$metadata#users('{user_id}')/onlineMeetings('{meeting_id}')/attendanceReports('{report_id}')/attendanceRecords"
    return json_response(page(records, graph_app().state.page_size, context))


def register(app: Flask) -> None:
    assert isinstance(app, GraphApp)
    base = "/users/<user_id>/onlineMeetings/<meeting_id>/attendanceReports"
    app.graph_route(base, ["GET"], Operation("attendanceReports", "list", ROLES), list_reports)
    app.graph_route(base + "/<report_id>", ["GET"], Operation("attendanceReports", "get", ROLES), get_report)
    app.graph_route(
        base + "/<report_id>/attendanceRecords", ["GET"], Operation("attendanceRecords", "list", ROLES), list_records
    )
