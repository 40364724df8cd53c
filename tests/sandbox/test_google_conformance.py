"""Every sandbox response of every Google method the product uses validates against the
response schema of the discovery document the client library ships (unknown fields refused)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import jsonschema
import pytest
from googleapiclient.discovery_cache import get_static_doc

from tests.sandbox.conftest import ADMIN, CLIENT_A, CLIENT_B, COACH, VERSIONS, GoogleSandbox

FOLDER = "application/vnd.google-apps.folder"


def to_json_schema(node: dict[str, Any]) -> dict[str, Any]:
    """Discovery schema -> JSON Schema, closed objects so extra fields fail."""
    if "$ref" in node:
        return {"$ref": f"#/definitions/{node['$ref']}"}
    kind = node.get("type", "any")
    if kind == "object":
        out: dict[str, Any] = {"type": "object", "additionalProperties": False}
        out["properties"] = {k: to_json_schema(v) for k, v in node.get("properties", {}).items()}
        if "additionalProperties" in node:
            out["additionalProperties"] = to_json_schema(node["additionalProperties"])
        return out
    if kind == "array":
        return {"type": "array", "items": to_json_schema(node.get("items", {}))}
    if kind == "any":
        return {}
    if kind == "string":
        schema: dict[str, Any] = {"type": "string"}
        if "enum" in node:
            schema["enum"] = node["enum"]
        return schema
    return {"type": {"integer": "integer", "number": "number", "boolean": "boolean"}[kind]}


@cache
def discovery(api: str) -> dict[str, Any]:
    return dict(json.loads(get_static_doc(api, VERSIONS[api]) or "{}"))


def response_schema(method_id: str) -> dict[str, Any] | None:
    api = method_id.split(".")[0]
    doc = discovery(api)
    node: Any = doc
    for part in method_id.split(".")[1:-1]:
        node = node["resources"][part]
    ref = node["methods"][method_id.split(".")[-1]].get("response", {}).get("$ref")
    if ref is None:
        return None
    definitions = {name: to_json_schema(schema) for name, schema in doc["schemas"].items()}
    return {"$ref": f"#/definitions/{ref}", "definitions": definitions}


class Conformance:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, request: Any) -> Any:
        response = request.execute()
        schema = response_schema(request.methodId)
        if schema is not None:
            jsonschema.Draft7Validator(schema).validate(response)
        self.seen.add(request.methodId)
        return response


USED_METHODS = {
    "classroom.courses.create", "classroom.courses.get", "classroom.courses.list", "classroom.courses.patch",
    "classroom.courses.update", "classroom.courses.aliases.create", "classroom.courses.aliases.list",
    "classroom.courses.students.create", "classroom.courses.students.list", "classroom.courses.students.delete",
    "classroom.courses.teachers.list", "classroom.invitations.create", "classroom.invitations.list",
    "classroom.invitations.delete", "classroom.courses.topics.create", "classroom.courses.topics.list",
    "classroom.courses.courseWork.create", "classroom.courses.courseWork.patch", "classroom.courses.courseWork.get",
    "classroom.courses.courseWork.list", "classroom.courses.courseWork.modifyAssignees",
    "classroom.courses.courseWork.delete", "classroom.courses.courseWork.studentSubmissions.list",
    "classroom.courses.courseWork.studentSubmissions.get", "classroom.courses.courseWork.studentSubmissions.return",
    "classroom.userProfiles.get", "classroom.courses.students.get", "classroom.invitations.get",
    "drive.files.create", "drive.files.copy", "drive.files.get", "drive.files.list", "drive.files.update",
    "drive.files.generateIds", "drive.permissions.create", "drive.permissions.list", "drive.permissions.delete",
    "drive.changes.getStartPageToken", "drive.changes.list", "drive.drives.get", "drive.drives.list",
    "gmail.users.messages.send",
    "calendar.events.insert", "calendar.events.get", "calendar.events.patch", "calendar.events.update",
    "calendar.events.delete", "calendar.events.list",
    "meet.conferenceRecords.list", "meet.conferenceRecords.get", "meet.conferenceRecords.participants.list",
    "meet.conferenceRecords.participants.get", "meet.conferenceRecords.participants.participantSessions.list",
    "meet.conferenceRecords.participants.participantSessions.get", "meet.spaces.get",
}  # fmt: skip


@pytest.fixture
def check() -> Conformance:
    return Conformance()


def test_classroom_responses_match_discovery(google: GoogleSandbox, check: Conformance) -> None:
    cr = google.service("classroom")
    admin = google.service("classroom", subject=ADMIN)
    course = check(cr.courses().create(body={"id": "p:konf", "name": "Konformanssi", "ownerId": COACH}))
    cid = course["id"]
    check(cr.courses().get(id="p:konf"))
    check(admin.courses().aliases().create(courseId=cid, body={"alias": "d:konf"}))
    check(cr.courses().aliases().list(courseId=cid))
    check(cr.courses().patch(id=cid, updateMask="courseState", body={"courseState": "ACTIVE"}))
    check(
        cr.courses().update(id=cid, body={"name": "Konformanssi 2", "courseState": "ACTIVE", "section": "A"})
    )
    check(cr.courses().list())
    for email in (CLIENT_A, CLIENT_B):
        check(admin.courses().students().create(courseId=cid, body={"userId": email}))
    check(cr.courses().students().list(courseId=cid))
    check(cr.courses().teachers().list(courseId=cid))
    google.sb.google.add_user("c@sandbox.example.fi", "Cecilia C")
    inv = check(
        cr.invitations().create(body={"courseId": cid, "userId": "c@sandbox.example.fi", "role": "STUDENT"})
    )
    check(cr.invitations().list(courseId=cid))
    check(cr.invitations().get(id=inv["id"]))
    check(cr.invitations().delete(id=inv["id"]))
    topic = check(cr.courses().topics().create(courseId=cid, body={"name": "Viikko 1"}))
    check(cr.courses().topics().list(courseId=cid))
    folder = google.sb.google.add_file(COACH, "Ohje", "application/vnd.google-apps.document")
    work = check(
        cr.courses().courseWork().create(
            courseId=cid,
            body={
                "title": "T", "workType": "ASSIGNMENT", "state": "PUBLISHED", "topicId": topic["topicId"],
                "assigneeMode": "INDIVIDUAL_STUDENTS", "individualStudentsOptions": {"studentIds": [CLIENT_A]},
                "dueDate": {"year": 2026, "month": 1, "day": 6}, "dueTime": {"hours": 12, "minutes": 0},
                "materials": [{"driveFile": {"driveFile": {"id": folder}, "shareMode": "VIEW"}},
                              {"link": {"url": "https://example.fi"}}],
            },
        )
    )  # fmt: skip
    check(
        cr.courses().courseWork().patch(courseId=cid, id=work["id"], updateMask="title", body={"title": "T2"})
    )
    check(cr.courses().courseWork().get(courseId=cid, id=work["id"]))
    check(
        cr.courses()
        .courseWork()
        .modifyAssignees(
            courseId=cid,
            id=work["id"],
            body={
                "assigneeMode": "INDIVIDUAL_STUDENTS",
                "modifyIndividualStudentsOptions": {"addStudentIds": [CLIENT_B]},
            },
        )
    )
    check(cr.courses().courseWork().list(courseId=cid))
    google.sb.google.submit_task(cid, work["id"], CLIENT_A)
    google.sb.state.clock.advance(timedelta(days=2))
    subs = check(cr.courses().courseWork().studentSubmissions().list(courseId=cid, courseWorkId="-"))
    sub = subs["studentSubmissions"][0]
    check(
        cr.courses()
        .courseWork()
        .studentSubmissions()
        .get(courseId=cid, courseWorkId=work["id"], id=sub["id"])
    )
    check(
        cr.courses()
        .courseWork()
        .studentSubmissions()
        .return_(courseId=cid, courseWorkId=work["id"], id=sub["id"], body={})
    )
    check(cr.userProfiles().get(userId=CLIENT_A))
    check(cr.courses().students().get(courseId=cid, userId=CLIENT_B))
    check(cr.courses().students().delete(courseId=cid, userId=CLIENT_B))
    check(cr.courses().courseWork().delete(courseId=cid, id=work["id"]))
    assert {m for m in USED_METHODS if m.startswith("classroom.")} <= check.seen


def test_drive_and_gmail_responses_match_discovery(google: GoogleSandbox, check: Conformance) -> None:
    dr = google.service("drive")
    drive_id = google.sb.google.create_shared_drive("Yhteinen", [COACH])
    token = check(dr.changes().getStartPageToken())["startPageToken"]
    everything = "*"
    ids = check(dr.files().generateIds(count=1))["ids"]
    root = check(
        dr.files().create(
            body={"id": ids[0], "name": "R", "mimeType": FOLDER, "appProperties": {"k": "v"}},
            fields=everything,
        )
    )
    doc = google.sb.google.add_file(COACH, "Doc", "application/vnd.google-apps.document", [root["id"]])
    check(dr.files().copy(fileId=doc, body={"name": "Kopio"}, fields=everything))
    check(dr.files().get(fileId=doc, fields=everything))
    check(dr.files().list(q=f"'{root['id']}' in parents", fields=everything))
    check(dr.files().list(q="trashed = false"))
    check(dr.files().update(fileId=doc, body={"appProperties": {"a": "b"}}, fields=everything))
    perm = check(
        dr.permissions().create(
            fileId=root["id"],
            body={"type": "user", "role": "reader", "emailAddress": CLIENT_A},
            fields=everything,
        )
    )
    check(dr.permissions().list(fileId=root["id"], fields=everything))
    check(dr.permissions().delete(fileId=root["id"], permissionId=perm["id"]))
    check(
        dr.files().create(
            body={"name": "S", "mimeType": FOLDER, "parents": [drive_id]},
            supportsAllDrives=True,
            fields=everything,
        )
    )
    check(
        dr.changes().list(
            pageToken=token, fields=everything, includeItemsFromAllDrives=True, supportsAllDrives=True
        )
    )
    check(dr.drives().list(fields=everything))
    check(dr.drives().get(driveId=drive_id, fields=everything))
    raw = base64.urlsafe_b64encode(f"To: {CLIENT_A}\r\nSubject: Hei\r\n\r\nHei".encode()).decode()
    check(google.service("gmail").users().messages().send(userId="me", body={"raw": raw}))
    assert {m for m in USED_METHODS if m.split(".")[0] in ("drive", "gmail")} <= check.seen


def test_calendar_and_meet_responses_match_discovery(google: GoogleSandbox, check: Conformance) -> None:
    cal = google.service("calendar")
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    body = {
        "id": "konf0001", "summary": "Palaveri",
        "start": {"dateTime": start.isoformat()}, "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
        "attendees": [{"email": CLIENT_A}], "reminders": {"useDefault": False, "overrides": [{"method": "popup", "minutes": 10}]},
        "conferenceData": {"createRequest": {"requestId": "konf0001", "conferenceSolutionKey": {"type": "hangoutsMeet"}}},
    }  # fmt: skip
    event = check(cal.events().insert(calendarId="primary", body=body, conferenceDataVersion=1))
    check(cal.events().get(calendarId="primary", eventId="konf0001"))
    check(cal.events().patch(calendarId="primary", eventId="konf0001", body={"description": "Tervetuloa"}))
    check(cal.events().update(calendarId="primary", eventId="konf0001", body={**body, "summary": "Uusi"}))
    check(
        cal.events().list(
            calendarId="primary", timeMin=start.isoformat(), singleEvents=True, orderBy="startTime"
        )
    )
    google.sb.google.join_meet(event["id"], email=CLIENT_A, start=start, minutes=45)
    google.sb.google.join_meet(event["id"], display_name="Vieras", start=start, minutes=45)
    google.sb.state.clock.set(start + timedelta(hours=2))
    meet = google.service("meet")
    records = check(
        meet.conferenceRecords().list(
            filter=f'space.meeting_code = "{event["conferenceData"]["conferenceId"]}"'
        )
    )
    name = records["conferenceRecords"][0]["name"]
    check(meet.conferenceRecords().get(name=name))
    people = check(meet.conferenceRecords().participants().list(parent=name))
    check(meet.conferenceRecords().participants().get(name=people["participants"][0]["name"]))
    sessions_api = meet.conferenceRecords().participants().participantSessions()
    sessions = check(sessions_api.list(parent=people["participants"][0]["name"]))
    check(sessions_api.get(name=sessions["participantSessions"][0]["name"]))
    space = check(meet.spaces().get(name=f"spaces/{event['conferenceData']['conferenceId']}"))
    assert space["meetingUri"] == event["hangoutLink"]
    check(cal.events().delete(calendarId="primary", eventId="konf0001"))
    assert {m for m in USED_METHODS if m.split(".")[0] in ("calendar", "meet")} <= check.seen


def test_the_conformance_check_itself_refuses_unknown_fields_and_bad_enums() -> None:
    schema = response_schema("classroom.courses.get")
    assert schema is not None
    validator = jsonschema.Draft7Validator(schema)
    assert validator.is_valid({"id": "1", "courseState": "ACTIVE"})
    assert not validator.is_valid({"id": "1", "sandboxOnly": True})
    assert not validator.is_valid({"id": "1", "courseState": "OPEN"})
